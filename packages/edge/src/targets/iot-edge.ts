import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelportError, type EdgeArtifact } from '@modelport/core';

/** spec.extensions.iot-edge. */
export interface IotEdgeSettings {
  /** Image reference the devices run; default `<name>:<version>`, preloaded on the device (offline). */
  image?: string;
  moduleName?: string;
  /** Port published on the device for the model server; the queue gets the next one. */
  port?: number;
  /** Registry credentials the edge agent pulls with; use $PLACEHOLDERS rather than secrets in files. */
  registryCredentials?: Record<string, { address: string; username: string; password: string }>;
  edgeAgentImage?: string;
  edgeHubImage?: string;
}

/** IoT Edge twin property values are limited to 512 characters: longer createOptions are split. */
const CREATE_OPTIONS_CHUNK = 512;

/** `createOptions`, `createOptions01`, ...: a JSON string cut into twin-sized pieces. */
export function createOptionsFields(options: unknown): Record<string, string> {
  const text = JSON.stringify(options);
  if (text.length <= CREATE_OPTIONS_CHUNK) return { createOptions: text };
  const fields: Record<string, string> = {};
  for (let i = 0, n = 0; i < text.length; i += CREATE_OPTIONS_CHUNK, n++) {
    fields[n === 0 ? 'createOptions' : `createOptions${String(n).padStart(2, '0')}`] = text.slice(
      i,
      i + CREATE_OPTIONS_CHUNK,
    );
  }
  return fields;
}

const MODULE_NAME = /^[a-zA-Z0-9_-]+$/;

/**
 * An Azure IoT Edge deployment manifest (deployment schema 2.0, edgeAgent 1.1, edgeHub 1.2) that runs the
 * serving image as a module: the model server and the store-and-forward queue published on the device,
 * the queue's spool on a named volume (survives module restarts). A locally built image is marked
 * `imagePullPolicy: never` (load it on the device first, e.g. from `skopeo copy oci:<layout>:<tag>
 * docker-archive:image.tar:<name>:<tag>` and `docker load`); an image in a registry is pulled on create.
 */
export function iotEdgeDeployment(
  name: string,
  version: string,
  settings: IotEdgeSettings,
): Record<string, unknown> {
  const moduleName = settings.moduleName ?? name;
  if (!MODULE_NAME.test(moduleName)) {
    throw new ModelportError(
      'invalidInput',
      `IoT Edge module name "${moduleName}" may only hold letters, digits, "-" and "_"`,
    );
  }
  const image = settings.image ?? `${name}:${version}`;
  const inRegistry = /^[^/]+[.:][^/]*\//.test(image) || image.startsWith('localhost/');
  const port = settings.port ?? 8080;
  const queuePort = port + 1;
  const moduleCreateOptions = {
    ExposedPorts: { '8080/tcp': {}, '8081/tcp': {} },
    HostConfig: {
      PortBindings: {
        '8080/tcp': [{ HostPort: String(port) }],
        '8081/tcp': [{ HostPort: String(queuePort) }],
      },
      // The image's state folder (owned by its user): a new named volume takes its owner.
      Binds: [`${moduleName}-spool:/var/lib/modelport`],
      RestartPolicy: { Name: 'always' },
    },
  };
  const edgeHubCreateOptions = {
    HostConfig: {
      PortBindings: {
        '5671/tcp': [{ HostPort: '5671' }],
        '8883/tcp': [{ HostPort: '8883' }],
        '443/tcp': [{ HostPort: '443' }],
      },
    },
  };
  return {
    modulesContent: {
      $edgeAgent: {
        'properties.desired': {
          schemaVersion: '1.1',
          runtime: {
            type: 'docker',
            settings: {
              minDockerVersion: 'v1.25',
              ...(settings.registryCredentials === undefined
                ? {}
                : { registryCredentials: settings.registryCredentials }),
            },
          },
          systemModules: {
            edgeAgent: {
              type: 'docker',
              settings: {
                image: settings.edgeAgentImage ?? 'mcr.microsoft.com/azureiotedge-agent:1.5',
                createOptions: '{}',
              },
            },
            edgeHub: {
              type: 'docker',
              status: 'running',
              restartPolicy: 'always',
              settings: {
                image: settings.edgeHubImage ?? 'mcr.microsoft.com/azureiotedge-hub:1.5',
                ...createOptionsFields(edgeHubCreateOptions),
              },
            },
          },
          modules: {
            [moduleName]: {
              version,
              type: 'docker',
              status: 'running',
              restartPolicy: 'always',
              imagePullPolicy: inRegistry ? 'on-create' : 'never',
              env: {
                // The image's default is 8080 with no queue; on a device the queue is the point.
                MODELPORT_QUEUE_PORT: { value: '8081' },
              },
              settings: { image, ...createOptionsFields(moduleCreateOptions) },
            },
          },
        },
      },
      $edgeHub: {
        'properties.desired': {
          schemaVersion: '1.2',
          routes: {},
          storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        },
      },
    },
  };
}

export async function writeIotEdgeDeployment(options: {
  name: string;
  version: string;
  outDir: string;
  settings: IotEdgeSettings;
}): Promise<EdgeArtifact> {
  const deployment = iotEdgeDeployment(options.name, options.version, options.settings);
  const path = join(options.outDir, `${options.name}-${options.version}.iot-edge.json`);
  const bytes = `${JSON.stringify(deployment, null, 2)}\n`;
  await writeFile(path, bytes);
  return {
    format: 'iot-edge',
    path,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: Buffer.byteLength(bytes),
  };
}
