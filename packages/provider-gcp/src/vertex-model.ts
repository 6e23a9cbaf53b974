import type { DesiredResource, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, TAGS, specHash } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import type { Model } from './vertex-types.js';
import { longRunning } from './deployment-context.js';
import { call, isAlreadyExists, isNotFound } from './errors.js';
import { decodeLabels, isOurs, labelFilter } from './labels.js';
import { RT } from './resource-types.js';
import type { GcpSettings } from './settings.js';
import { idOf, parentOf, resourceLabels } from './settings.js';

/** A Vertex model as modelport compares it (read back from the Model in the same shape). */
export interface ModelProperties {
  image: string;
  artifactUri?: string;
  /** Custom containers only: prebuilt images bring their own routes and port. */
  predictRoute?: string;
  healthRoute?: string;
  port?: number;
  env: Record<string, string>;
}

/** Models are immutable: their id is `<name>-<hash8>` of their properties. */
export function hashedName(name: string, properties: Record<string, unknown>): string {
  return `${name}-${specHash(properties).slice(0, 8)}`;
}

export function hashedNamePattern(name: string): RegExp {
  return new RegExp(`^${name.replace(/-/g, '\\-')}-[0-9a-f]{8}$`);
}

export function modelResource(
  settings: GcpSettings,
  properties: ModelProperties,
  artifactId: string | undefined,
): DesiredResource {
  const props = properties as unknown as Record<string, unknown>;
  return {
    type: RT.model,
    name: hashedName(settings.name, props),
    properties: props,
    immutable: Object.keys(props),
    dependsOn: artifactId === undefined ? [] : [artifactId],
  };
}

export function modelProperties(model: Model): ModelProperties {
  const spec = model.containerSpec ?? {};
  const port = spec.ports?.[0]?.containerPort;
  return {
    image: spec.imageUri ?? '',
    ...(model.artifactUri ? { artifactUri: model.artifactUri } : {}),
    ...(spec.predictRoute ? { predictRoute: spec.predictRoute } : {}),
    ...(spec.healthRoute ? { healthRoute: spec.healthRoute } : {}),
    ...(port ? { port } : {}),
    env: Object.fromEntries((spec.env ?? []).map((e) => [e.name ?? '', e.value ?? ''])),
  };
}

/** The deployment's models, found by their labels (List filters server side). */
export async function observeModels(dc: DeploymentContext): Promise<ObservedResource[]> {
  const [models] = await call(
    'list Vertex AI models',
    () => dc.clients.models.listModels({ parent: parentOf(dc.settings), filter: labelFilter(dc.settings) }),
    true,
  );
  const pattern = hashedNamePattern(dc.settings.name);
  return models.flatMap((model): ObservedResource[] => {
    const id = idOf(model.name ?? '');
    const labels = decodeLabels(model.labels as Record<string, string>);
    if (!pattern.test(id) || !isOurs(labels, dc.settings)) return [];
    return [
      {
        type: RT.model,
        name: id,
        properties: modelProperties(model) as unknown as Record<string, unknown>,
        specHash: labels[TAGS.specHash],
        managed: true,
        state: DeploymentState.Ready,
        raw: model,
      },
    ];
  });
}

export function modelName(settings: GcpSettings, id: string): string {
  return `${parentOf(settings)}/models/${id}`;
}

/**
 * UploadModel with the model id modelport chose, waiting on the operation. A model of that id that is
 * already this deployment's (an apply interrupted after the upload started) is taken as done.
 */
export async function createModel(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as ModelProperties;
  try {
    await longRunning(dc, `upload model ${action.name}`, () =>
      dc.clients.models.uploadModel(
        {
          parent: parentOf(dc.settings),
          modelId: action.name,
          model: {
            displayName: action.name,
            description: `modelport deployment ${dc.settings.name}`,
            ...(p.artifactUri === undefined ? {} : { artifactUri: p.artifactUri }),
            containerSpec: {
              imageUri: p.image,
              env: Object.entries(p.env).map(([name, value]) => ({ name, value })),
              ...(p.port === undefined ? {} : { ports: [{ containerPort: p.port }] }),
              ...(p.predictRoute === undefined ? {} : { predictRoute: p.predictRoute }),
              ...(p.healthRoute === undefined ? {} : { healthRoute: p.healthRoute }),
            },
            labels: resourceLabels(dc.settings, action.specHash),
          },
        },
        dc.clients.lro,
      ),
    );
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const [existing] = await call(
      `get model ${action.name}`,
      () => dc.clients.models.getModel({ name: modelName(dc.settings, action.name) }),
      true,
    );
    const labels = decodeLabels(existing.labels as Record<string, string>);
    if (!isOurs(labels, dc.settings) || labels[TAGS.specHash] !== action.specHash) {
      throw new ModelportError('conflict', `model ${action.name} exists and is not this deployment's`, {
        hint: 'delete it, or rename the deployment (metadata.name)',
        cause: error,
      });
    }
  }
}

export async function deleteModel(dc: DeploymentContext, id: string): Promise<void> {
  try {
    await longRunning(dc, `delete model ${id}`, () =>
      dc.clients.models.deleteModel({ name: modelName(dc.settings, id) }, dc.clients.lro),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
