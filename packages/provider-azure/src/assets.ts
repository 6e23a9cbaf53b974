import { createReadStream } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import type { DesiredResource, LoadedManifest, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, sha256File, specHash, uriScheme } from '@modelport/core';
import { datastoreContainer, deletePrefix } from './datastore.js';
import type { DeploymentContext } from './deployment-context.js';
import { call, getOrUndefined, listAll } from './errors.js';
import { RT } from './resource-types.js';
import type { AzureSettings } from './settings.js';
import { AZURE_TAGS, DATASTORE_PREFIX, datastoreUri, isOurs, resourceTags, workspaceId } from './settings.js';

export const SERVING_IMAGE_REPOSITORY = 'modelport-serving';
export const SERVING_IMAGE_TAG = '0.1.0';
/** The port and routes of the modelport serving image (packages/edge, IMAGE_PORT). */
const SERVING_PORT = 8080;

/** A model version as compared (read back from its properties in the same shape). */
export interface ModelProperties {
  modelUri: string;
  modelType: 'custom_model';
}

/** The model file of a manifest: a local file (uploaded), or an azureml:// or https:// URI used as is. */
export interface ModelSource {
  localPath?: string;
  sha256?: string;
  uri?: string;
}

export async function modelSource(manifest: LoadedManifest): Promise<ModelSource> {
  const spec = manifest.manifest.spec as { model: { uri?: string; format: string } };
  const uri = spec.model.uri;
  if (uri === undefined) {
    throw new ModelportError('invalidInput', 'Azure needs spec.model.uri', {
      hint: 'point it at the model file',
    });
  }
  const scheme = uriScheme(uri);
  if (scheme === 'azureml' || scheme === 'https') return { uri };
  if (scheme !== 'file') {
    throw new ModelportError('capability', `Azure ML cannot read models from ${scheme}:// URIs`, {
      hint: 'use a local path (uploaded to the workspace datastore), azureml:// or https://',
    });
  }
  const path = uri.replace(/^file:\/\//, '');
  const localPath = isAbsolute(path) ? path : resolve(manifest.file, '..', path);
  return {
    localPath,
    sha256: await sha256File(localPath, 'check spec.model.uri (relative paths are relative to the manifest)'),
  };
}

/**
 * The model version: container `<name>`, version from the content hash, so an unchanged model is a no-op
 * and a changed one is a new version (model versions are immutable).
 */
export function modelResource(s: AzureSettings, source: ModelSource): DesiredResource {
  const version = specHash({ sha256: source.sha256 ?? null, uri: source.uri ?? null }).slice(0, 8);
  const fileName = source.localPath === undefined ? undefined : basename(source.localPath);
  const properties: ModelProperties = {
    modelUri:
      source.uri ?? datastoreUri(s, `${DATASTORE_PREFIX}/${s.name}/${version}/${fileName ?? 'model'}`),
    modelType: 'custom_model',
  };
  const props = properties as unknown as Record<string, unknown>;
  return { type: RT.model, name: `${s.name}/${version}`, properties: props, immutable: Object.keys(props) };
}

/** ARM id of a model version or environment version resource named `<container>/<version>`. */
export function assetId(s: AzureSettings, kind: 'models' | 'environments', name: string): string {
  const [container, version] = name.split('/');
  return `${workspaceId(s)}/${kind}/${container}/versions/${version}`;
}

/** Environment variables that tell the serving image where Azure ML mounted the model. */
export function modelMountEnv(modelName: string, source: ModelSource): Record<string, string> {
  const [container, version] = modelName.split('/');
  const file = source.localPath === undefined ? '' : `/${basename(source.localPath)}`;
  return { MODELPORT_MODEL: `/var/azureml-app/azureml-models/${container}/${version}${file}` };
}

export interface EnvironmentProperties {
  image: string;
  osType: 'Linux';
  inferenceConfig: {
    livenessRoute: { path: string; port: number };
    readinessRoute: { path: string; port: number };
    scoringRoute: { path: string; port: number };
  };
}

/** The serving environment: the image and the routes Azure ML probes and scores on. */
export function environmentResource(s: AzureSettings, image: string): DesiredResource {
  const properties: EnvironmentProperties = {
    image,
    osType: 'Linux',
    inferenceConfig: {
      livenessRoute: { path: '/ping', port: SERVING_PORT },
      readinessRoute: { path: '/ping', port: SERVING_PORT },
      scoringRoute: { path: '/score', port: SERVING_PORT },
    },
  };
  const props = properties as unknown as Record<string, unknown>;
  const version = specHash(props).slice(0, 8);
  return {
    type: RT.environment,
    name: `${s.name}-serving/${version}`,
    properties: props,
    immutable: Object.keys(props),
  };
}

const registries = new WeakMap<object, Map<string, Promise<string | undefined>>>();

/**
 * The image the model runs in: spec.model.image, else, for ONNX, the portable modelport serving image in the
 * workspace's own container registry (pushed once with `modelport package --format oci` + `modelport image push`).
 */
export async function servingImage(dc: DeploymentContext): Promise<string> {
  const model = (dc.manifest.manifest.spec as { model: { image?: string; format: string } }).model;
  if (model.image !== undefined) return model.image;
  if (model.format === 'onnx') {
    const s = dc.settings;
    let byWorkspace = registries.get(dc.clients);
    if (byWorkspace === undefined) {
      byWorkspace = new Map();
      registries.set(dc.clients, byWorkspace);
    }
    const key = `${s.resourceGroup}/${s.workspace}`;
    let registry = byWorkspace.get(key);
    if (registry === undefined) {
      registry = call(`read workspace ${s.workspace}`, () =>
        dc.clients.ml.workspaces.get(s.resourceGroup, s.workspace),
      ).then((ws) => ws.containerRegistry?.split('/').pop());
      byWorkspace.set(key, registry);
    }
    const name = await registry;
    if (name !== undefined && name !== '')
      return `${name.toLowerCase()}.azurecr.io/${SERVING_IMAGE_REPOSITORY}:${SERVING_IMAGE_TAG}`;
  }
  throw new ModelportError('invalidInput', `Azure ML needs a serving image for format "${model.format}"`, {
    hint: 'set spec.model.image (e.g. myregistry.azurecr.io/modelport-serving:0.1.0), or attach a container registry to the workspace',
  });
}

export async function observeModels(dc: DeploymentContext): Promise<ObservedResource[]> {
  const s = dc.settings;
  const versions = await listAll(`list versions of model ${s.name}`, () =>
    dc.clients.ml.modelVersions.list(s.resourceGroup, s.workspace, s.name),
  );
  return versions
    .filter((v) => isOurs(v.properties.tags, s))
    .map((v) => ({
      type: RT.model,
      name: `${s.name}/${v.name ?? ''}`,
      properties: { modelUri: v.properties.modelUri, modelType: v.properties.modelType },
      specHash: v.properties.tags?.[AZURE_TAGS.specHash] ?? undefined,
      managed: true,
      state: DeploymentState.Ready,
      raw: v,
    }));
}

export async function observeEnvironments(dc: DeploymentContext): Promise<ObservedResource[]> {
  const s = dc.settings;
  const versions = await listAll(`list versions of environment ${s.name}-serving`, () =>
    dc.clients.ml.environmentVersions.list(s.resourceGroup, s.workspace, `${s.name}-serving`),
  );
  return versions
    .filter((v) => isOurs(v.properties.tags, s))
    .map((v) => {
      const config = v.properties.inferenceConfig;
      const route = (r: { path?: string; port?: number } | undefined) => ({ path: r?.path, port: r?.port });
      return {
        type: RT.environment,
        name: `${s.name}-serving/${v.name ?? ''}`,
        properties: {
          image: v.properties.image,
          osType: v.properties.osType,
          inferenceConfig: {
            livenessRoute: route(config?.livenessRoute),
            readinessRoute: route(config?.readinessRoute),
            scoringRoute: route(config?.scoringRoute),
          },
        },
        specHash: v.properties.tags?.[AZURE_TAGS.specHash] ?? undefined,
        managed: true,
        state: DeploymentState.Ready,
        raw: v,
      };
    });
}

/** Uploads the model file to the datastore (for a local model), then registers the version. */
export async function createModel(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const [container = s.name, version = ''] = action.name.split('/');
  const props = action.desired?.properties as unknown as ModelProperties;
  const source = await modelSource(dc.manifest);
  if (source.localPath !== undefined) {
    const path = props.modelUri.slice(props.modelUri.indexOf('/paths/') + '/paths/'.length);
    const blobs = await datastoreContainer(dc.clients, s);
    const localPath = source.localPath;
    dc.ctx.progress(`uploading ${basename(localPath)} to datastore ${s.datastore}`);
    await call(`upload the model to datastore ${s.datastore}`, () =>
      blobs.getBlockBlobClient(path).uploadStream(createReadStream(localPath), 4 * 1024 * 1024, 2, {
        blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
        abortSignal: dc.ctx.signal,
      }),
    );
  }
  await call(`register model ${action.name}`, () =>
    dc.clients.ml.modelVersions.createOrUpdate(s.resourceGroup, s.workspace, container, version, {
      properties: {
        modelUri: props.modelUri,
        modelType: props.modelType,
        description: `${s.kind} ${s.name}, managed by modelport`,
        tags: resourceTags(s, action.specHash),
      },
    }),
  );
}

/** Deletes the version and, when modelport uploaded it, its files. */
export async function deleteModel(dc: DeploymentContext, name: string, modelUri: unknown): Promise<void> {
  const s = dc.settings;
  const [container = s.name, version = ''] = name.split('/');
  await call(`delete model ${name}`, () =>
    dc.clients.ml.modelVersions.delete(s.resourceGroup, s.workspace, container, version),
  );
  const ours = `/paths/${DATASTORE_PREFIX}/${s.name}/${version}/`;
  if (typeof modelUri === 'string' && modelUri.includes(ours)) {
    const blobs = await datastoreContainer(dc.clients, s);
    await call(`delete the files of model ${name}`, () =>
      deletePrefix(blobs, `${DATASTORE_PREFIX}/${s.name}/${version}/`),
    );
  }
}

export async function createEnvironment(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const [container = '', version = ''] = action.name.split('/');
  const props = action.desired?.properties as unknown as EnvironmentProperties;
  await call(`register environment ${action.name}`, () =>
    dc.clients.ml.environmentVersions.createOrUpdate(s.resourceGroup, s.workspace, container, version, {
      properties: {
        ...props,
        description: 'modelport serving image',
        tags: resourceTags(s, action.specHash),
      },
    }),
  );
}

export async function deleteEnvironment(dc: DeploymentContext, name: string): Promise<void> {
  const s = dc.settings;
  const [container = '', version = ''] = name.split('/');
  await getOrUndefined(`delete environment ${name}`, () =>
    dc.clients.ml.environmentVersions.delete(s.resourceGroup, s.workspace, container, version),
  );
}
