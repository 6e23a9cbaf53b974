import type { OnlineDeployment, OnlineEndpoint } from '@azure/arm-machinelearning';
import type {
  Diagnostic,
  DesiredResource,
  LoadedEndpoint,
  ObservedResource,
  PlanAction,
} from '@modelport/core';
import { DeploymentState, ModelportError, mapState, resourceKey, specHash } from '@modelport/core';
import { assetId, environmentResource, modelResource } from './assets.js';
import type { ModelSource } from './assets.js';
import type { DeploymentContext } from './deployment-context.js';
import { lro, sleep } from './deployment-context.js';
import { call, getOrUndefined, listAll, mapAzureError } from './errors.js';
import { DEFAULT_INSTANCE_TYPE, pickInstanceType } from './instance-catalog.js';
import { RT } from './resource-types.js';
import type { AzureSettings } from './settings.js';
import { AZURE_TAGS, isOurs, resourceTags } from './settings.js';

/** Azure ML provisioning states → the neutral status. */
export const PROVISIONING_STATES: Readonly<Record<string, DeploymentState>> = {
  Creating: DeploymentState.Creating,
  Updating: DeploymentState.Updating,
  Scaling: DeploymentState.Updating,
  Deleting: DeploymentState.Deleting,
  Succeeded: DeploymentState.Ready,
  Failed: DeploymentState.Failed,
  Canceled: DeploymentState.Failed,
};

/** Tag on the endpoint holding the spec hash of its traffic map (the traffic resource has no tags of its own). */
export const TRAFFIC_HASH_TAG = 'modelport.dev.traffic-hash';

/** A deployment as compared (read back from the service in the same shape). */
export interface DeploymentProperties {
  model: string;
  environmentId: string;
  instanceType: string;
  environmentVariables: Record<string, string>;
  requestTimeout: string;
  instanceCount?: number;
}

/** Keys whose change needs a new deployment (blue-green): what the deployment's name is hashed from. */
const DEPLOYMENT_IDENTITY = ['model', 'environmentId', 'instanceType', 'environmentVariables'] as const;

export interface TrafficProperties {
  traffic: Record<string, number>;
}

/** The instance type of `spec.compute`: the explicit escape hatch, or the smallest catalog size that fits. */
export function instanceTypeOf(compute: LoadedEndpoint['manifest']['spec']['compute']): string {
  if (compute?.instanceType !== undefined) return compute.instanceType;
  const picked = pickInstanceType({
    ...(compute?.cpu === undefined ? {} : { cpu: compute.cpu }),
    ...(compute?.memoryGiB === undefined ? {} : { memoryGiB: compute.memoryGiB }),
    ...(compute?.accelerator === undefined
      ? {}
      : {
          accelerator: {
            type: compute.accelerator.type,
            ...(compute.accelerator.count === undefined ? {} : { count: compute.accelerator.count }),
          },
        }),
  });
  if (picked === undefined) {
    throw new ModelportError('capability', 'no Azure ML VM size fits spec.compute', {
      hint: `lower cpu/memoryGiB, use an accelerator Azure offers, or set compute.instanceType (e.g. ${DEFAULT_INSTANCE_TYPE})`,
    });
  }
  return picked.name;
}

/** True when scaling asks for autoscaling (a range of replicas). */
export function autoscaled(manifest: LoadedEndpoint): boolean {
  const scaling = manifest.manifest.spec.scaling;
  return scaling !== undefined && (scaling.maxReplicas ?? 1) > (scaling.minReplicas ?? 1);
}

/** ISO 8601 duration of whole or fractional seconds. */
function isoSeconds(seconds: number): string {
  return `PT${Number(seconds.toFixed(3))}S`;
}

/**
 * Model, environment, endpoint, one deployment named from the hash of what makes it (`d<hash8>`), and the
 * traffic map. A changed model, image, size or limits makes a new deployment: traffic moves to it, then the
 * old one is deleted (deletes run after every create and update).
 */
export function onlineResources(
  manifest: LoadedEndpoint,
  s: AzureSettings,
  source: ModelSource,
  image: string,
): DesiredResource[] {
  const spec = manifest.manifest.spec;
  const model = modelResource(s, source);
  const env = environmentResource(s, image);
  const endpoint: DesiredResource = {
    type: RT.onlineEndpoint,
    name: s.name,
    properties: { authMode: 'Key', location: s.location },
    immutable: ['authMode', 'location'],
  };
  const identity = {
    model: assetId(s, 'models', model.name),
    environmentId: assetId(s, 'environments', env.name),
    instanceType: instanceTypeOf(spec.compute),
    // No model path: Azure ML mounts the model version and sets AZUREML_MODEL_DIR to its folder, which the
    // serving image reads (https://learn.microsoft.com/azure/machine-learning/how-to-deploy-custom-container
    // "Locating the mounted model"); a path guessed here would break with modelMountPath.
    environmentVariables: {
      MODELPORT_MAX_PAYLOAD_MB: String(spec.limits?.payloadMB ?? 1.5),
      MODELPORT_TIMEOUT_S: String(spec.limits?.timeoutSeconds ?? 5),
    },
  };
  const properties: DeploymentProperties = {
    ...identity,
    requestTimeout: isoSeconds(Math.min(spec.limits?.timeoutSeconds ?? 5, 180)),
    ...(autoscaled(manifest) ? {} : { instanceCount: Math.max(1, spec.scaling?.minReplicas ?? 1) }),
  };
  const deploymentName = `d${specHash(identity).slice(0, 8)}`;
  const deployment: DesiredResource = {
    type: RT.onlineDeployment,
    name: `${s.name}/${deploymentName}`,
    properties: properties as unknown as Record<string, unknown>,
    immutable: [...DEPLOYMENT_IDENTITY],
    dependsOn: [resourceKey(endpoint), resourceKey(model), resourceKey(env)],
  };
  const trafficResource: DesiredResource = {
    type: RT.traffic,
    name: s.name,
    properties: { traffic: { [deploymentName]: 100 } },
    dependsOn: [resourceKey(deployment)],
  };
  return [model, env, endpoint, deployment, trafficResource];
}

/** The endpoint, its deployments and its traffic map, found by tags. */
export async function observeOnline(dc: DeploymentContext, notes: Diagnostic[]): Promise<ObservedResource[]> {
  const s = dc.settings;
  const endpoint = await getOrUndefined(`read online endpoint ${s.name}`, () =>
    dc.clients.ml.onlineEndpoints.get(s.resourceGroup, s.workspace, s.name),
  );
  if (endpoint === undefined) return [];
  const managed = isOurs(endpoint.tags, s);
  const endpointKey = resourceKey({ type: RT.onlineEndpoint, name: s.name });
  const observed: ObservedResource[] = [
    {
      type: RT.onlineEndpoint,
      name: s.name,
      properties: { authMode: endpoint.properties.authMode, location: endpoint.location },
      specHash: endpoint.tags?.[AZURE_TAGS.specHash],
      managed,
      state: mapState(PROVISIONING_STATES, endpoint.properties.provisioningState),
      raw: endpoint,
    },
  ];
  if (!managed) return observed;
  const deployments = await listAll(`list deployments of ${s.name}`, () =>
    dc.clients.ml.onlineDeployments.list(s.resourceGroup, s.workspace, s.name),
  );
  const keys: string[] = [];
  for (const d of deployments) {
    if (!isOurs(d.tags, s)) continue;
    const p = d.properties;
    const state = mapState(PROVISIONING_STATES, p.provisioningState);
    if (state === DeploymentState.Failed) {
      notes.push({
        severity: 'warning',
        code: 'azure.deploymentFailed',
        file: dc.manifest.file,
        path: 'spec',
        line: 1,
        column: 1,
        message: `deployment ${d.name ?? ''} of ${s.name} is Failed: ${p.provisioningState ?? ''}`,
        hint: 'apply again to replace it; `modelport status` shows the endpoint',
      });
    }
    const resource: ObservedResource = {
      type: RT.onlineDeployment,
      name: `${s.name}/${d.name ?? ''}`,
      properties: {
        model: p.model,
        environmentId: p.environmentId,
        instanceType: p.instanceType,
        environmentVariables: p.environmentVariables ?? {},
        requestTimeout: p.requestSettings?.requestTimeout,
        // Under autoscale the instance count is Azure Monitor's to change: not compared.
        ...(d.sku?.capacity === undefined || autoscaled(dc.manifest as LoadedEndpoint)
          ? {}
          : { instanceCount: d.sku.capacity }),
      },
      specHash: d.tags?.[AZURE_TAGS.specHash],
      managed: true,
      state,
      dependsOn: [endpointKey],
      raw: d,
    };
    keys.push(resourceKey(resource));
    observed.push(resource);
  }
  observed.push({
    type: RT.traffic,
    name: s.name,
    properties: trafficOf(endpoint) as unknown as Record<string, unknown>,
    specHash: endpoint.tags?.[TRAFFIC_HASH_TAG],
    managed: true,
    state: DeploymentState.Ready,
    dependsOn: keys,
    raw: { traffic: endpoint.properties.traffic },
  });
  return observed;
}

/** Non-zero entries of the endpoint's traffic map. */
export function trafficOf(endpoint: OnlineEndpoint): TrafficProperties {
  return {
    traffic: Object.fromEntries(Object.entries(endpoint.properties.traffic ?? {}).filter(([, v]) => v > 0)),
  };
}

export async function createEndpoint(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const current =
    action.kind === 'create'
      ? undefined
      : await getOrUndefined(`read online endpoint ${s.name}`, () =>
          dc.clients.ml.onlineEndpoints.get(s.resourceGroup, s.workspace, s.name),
        );
  try {
    await putEndpointFor(dc, action, current);
  } catch (error) {
    // An endpoint that this action created and that ended Failed is removed: nothing is left half-made.
    if (action.kind === 'create' && ModelportError.is(error) && !error.retryable) {
      await deleteEndpoint(dc).catch(() => undefined);
    }
    throw error;
  }
}

async function putEndpointFor(
  dc: DeploymentContext,
  action: PlanAction,
  current: OnlineEndpoint | undefined,
): Promise<void> {
  const s = dc.settings;
  await putEndpoint(dc, {
    location: s.location,
    tags: {
      ...resourceTags(s, action.specHash),
      ...(current?.tags?.[TRAFFIC_HASH_TAG] === undefined
        ? {}
        : { [TRAFFIC_HASH_TAG]: current.tags[TRAFFIC_HASH_TAG] }),
    },
    properties: {
      authMode: 'Key',
      description: `modelport endpoint ${s.name}`,
      ...(current === undefined ? {} : trafficOf(current)),
    },
  });
}

async function putEndpoint(dc: DeploymentContext, body: OnlineEndpoint): Promise<void> {
  const s = dc.settings;
  await call(`create or update online endpoint ${s.name}`, () =>
    dc.clients.ml.onlineEndpoints.beginCreateOrUpdateAndWait(
      s.resourceGroup,
      s.workspace,
      s.name,
      body,
      lro(dc),
    ),
  );
}

export async function deleteEndpoint(dc: DeploymentContext): Promise<void> {
  const s = dc.settings;
  await getOrUndefined(`delete online endpoint ${s.name}`, () =>
    dc.clients.ml.onlineEndpoints.beginDeleteAndWait(s.resourceGroup, s.workspace, s.name, lro(dc)),
  );
}

/**
 * Creates or updates a deployment and waits for it. One that ends Failed is deleted before the error is
 * raised: traffic never moved to it, and nothing is left behind.
 */
export async function putDeployment(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const deploymentName = action.name.split('/')[1] ?? '';
  const p = action.desired?.properties as unknown as DeploymentProperties;
  const existing =
    action.kind === 'update' ? (action.observed?.raw as OnlineDeployment | undefined) : undefined;
  const body: OnlineDeployment = {
    location: s.location,
    tags: resourceTags(s, action.specHash),
    sku: { name: 'Default', capacity: p.instanceCount ?? existing?.sku?.capacity ?? minReplicas(dc) },
    properties: {
      endpointComputeType: 'Managed',
      model: p.model,
      environmentId: p.environmentId,
      instanceType: p.instanceType,
      environmentVariables: p.environmentVariables,
      requestSettings: { requestTimeout: p.requestTimeout, maxConcurrentRequestsPerInstance: 1 },
      scaleSettings: { scaleType: 'Default' },
      livenessProbe: {
        initialDelay: 'PT10S',
        period: 'PT10S',
        timeout: 'PT2S',
        failureThreshold: 30,
        successThreshold: 1,
      },
      appInsightsEnabled: false,
    } as OnlineDeployment['properties'],
  };
  dc.ctx.progress(`deployment ${deploymentName}: ${p.instanceType}`);
  try {
    await dc.clients.ml.onlineDeployments.beginCreateOrUpdateAndWait(
      s.resourceGroup,
      s.workspace,
      s.name,
      deploymentName,
      body,
      lro(dc),
    );
  } catch (error) {
    const mapped = mapAzureError(error, `deployment ${deploymentName} of ${s.name}`);
    // A deployment that ended Failed is removed (a new one) so nothing is orphaned; traffic never reached it.
    const state = await deploymentState(dc, deploymentName).catch(() => undefined);
    if (state === 'Failed' || state === 'Canceled') {
      if (action.kind !== 'update') await deleteDeployment(dc, action.name).catch(() => undefined);
      throw new ModelportError(
        'unavailable',
        `deployment ${deploymentName} of ${s.name} failed: ${mapped.message}`,
        {
          retryable: false,
          cause: mapped,
          hint: `traffic stays where it was; see the container logs (az ml online-deployment get-logs -e ${s.name} -n ${deploymentName})`,
        },
      );
    }
    throw mapped;
  }
}

function minReplicas(dc: DeploymentContext): number {
  return Math.max(1, (dc.manifest as LoadedEndpoint).manifest.spec.scaling?.minReplicas ?? 1);
}

export async function deleteDeployment(dc: DeploymentContext, name: string): Promise<void> {
  const s = dc.settings;
  const deploymentName = name.split('/')[1] ?? '';
  await getOrUndefined(`delete deployment ${deploymentName} of ${s.name}`, () =>
    dc.clients.ml.onlineDeployments.beginDeleteAndWait(
      s.resourceGroup,
      s.workspace,
      s.name,
      deploymentName,
      lro(dc),
    ),
  );
}

/**
 * Moves traffic: blue-green and replace switch at once (then bake with the old deployment still there);
 * canary sends canaryPercent to the new deployment, bakes, checks it, then promotes it to 100 (or rolls
 * traffic back and fails). Deleting the traffic resource empties the map (a deployment with traffic cannot
 * be deleted).
 */
export async function setTraffic(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const endpoint = await getOrUndefined(`read online endpoint ${s.name}`, () =>
    dc.clients.ml.onlineEndpoints.get(s.resourceGroup, s.workspace, s.name),
  );
  if (endpoint === undefined) {
    if (action.kind === 'delete') return;
    throw new ModelportError('notFound', `online endpoint ${s.name} is gone`, {
      hint: 'plan and apply again',
    });
  }
  const put = (traffic: TrafficProperties, hash: string | undefined) =>
    putEndpoint(dc, {
      location: endpoint.location,
      tags: { ...(endpoint.tags ?? {}), ...(hash === undefined ? {} : { [TRAFFIC_HASH_TAG]: hash }) },
      properties: {
        authMode: endpoint.properties.authMode,
        ...(endpoint.properties.description === undefined
          ? {}
          : { description: endpoint.properties.description }),
        ...traffic,
      },
    });
  if (action.kind === 'delete') {
    if (Object.keys(trafficOf(endpoint).traffic).length === 0) return;
    return put({ traffic: {} }, undefined);
  }
  const target = action.desired?.properties as unknown as TrafficProperties;
  await waitDeploymentsReady(dc, Object.keys(target.traffic));
  const spec = (dc.manifest as LoadedEndpoint).manifest.spec;
  const strategy = spec.traffic?.strategy ?? 'replace';
  const bakeMs = (spec.traffic?.bakeTimeSeconds ?? 0) * 1000;
  const [next] = Object.keys(target.traffic);
  const previous = Object.keys(trafficOf(endpoint).traffic).filter((d) => d !== next);
  if (strategy === 'canary' && next !== undefined && previous.length > 0) {
    const percent = Math.round(spec.traffic?.canaryPercent ?? 10);
    const old = previous[0] as string;
    dc.ctx.progress(`canary: ${percent}% to ${next}, ${100 - percent}% to ${old}`);
    await put({ traffic: { [old]: 100 - percent, [next]: percent } }, undefined);
    await sleep(bakeMs, dc.ctx.signal);
    const healthy = await deploymentState(dc, next);
    if (healthy !== 'Succeeded') {
      await put({ traffic: { [old]: 100 } }, undefined);
      throw new ModelportError(
        'unavailable',
        `canary deployment ${next} is ${healthy ?? 'gone'} after the bake time`,
        {
          retryable: false,
          hint: 'traffic was rolled back to the previous deployment',
        },
      );
    }
  }
  dc.ctx.progress(`traffic: ${JSON.stringify(target.traffic)}`);
  await put(target, action.specHash);
  if (strategy === 'blue-green' && previous.length > 0 && bakeMs > 0) {
    // The previous deployment stays until the bake ends (it is deleted after this action).
    await sleep(bakeMs, dc.ctx.signal);
  }
}

async function deploymentState(dc: DeploymentContext, deployment: string): Promise<string | undefined> {
  const s = dc.settings;
  const found = await getOrUndefined(`read deployment ${deployment}`, () =>
    dc.clients.ml.onlineDeployments.get(s.resourceGroup, s.workspace, s.name, deployment),
  );
  return found?.properties.provisioningState;
}

/** After a crash mid-apply a deployment may still be provisioning: traffic waits for it. */
async function waitDeploymentsReady(dc: DeploymentContext, names: string[]): Promise<void> {
  const deadline = Date.now() + dc.options.waitTimeoutMs;
  for (const name of names) {
    for (;;) {
      const state = await deploymentState(dc, name);
      if (state === 'Succeeded') break;
      if (state === undefined || state === 'Failed' || state === 'Canceled' || Date.now() > deadline) {
        throw new ModelportError(
          'unavailable',
          `deployment ${name} of ${dc.settings.name} is ${state ?? 'missing'}`,
          {
            retryable: false,
            hint: 'plan and apply again: a failed deployment is replaced',
          },
        );
      }
      await sleep(dc.options.pollIntervalMs, dc.ctx.signal);
    }
  }
}
