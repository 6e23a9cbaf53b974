import type { DesiredResource, LoadedEndpoint, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, resourceKey, specHash } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { isOperationFailure, longRunning } from './deployment-context.js';
import { call } from './errors.js';
import type { AcceleratorType, DeployedModel, Endpoint } from './vertex-types.js';
import { endpointName, getEndpoint } from './endpoint.js';
import { RT } from './resource-types.js';
import type { GcpSettings } from './settings.js';
import { idOf } from './settings.js';
import { hashedName, hashedNamePattern, modelName } from './vertex-model.js';

/** Vertex's MachineSpec of a machine type and its accelerators (deployed models and batch jobs). */
export function machineSpec(p: Pick<DeployedModelProperties, 'machineType' | 'accelerator'>): {
  machineType: string;
  acceleratorType?: AcceleratorType;
  acceleratorCount?: number;
} {
  return {
    machineType: p.machineType,
    ...(p.accelerator === undefined
      ? {}
      : { acceleratorType: p.accelerator.type as AcceleratorType, acceleratorCount: p.accelerator.count }),
  };
}

/**
 * A model deployed on the endpoint, as compared. Vertex keeps no labels on a DeployedModel: it is named
 * (displayName) `<name>-<hash8>` of what cannot change in place, and its spec hash is the hash of what is
 * read back. A new model or machine deploys a new one beside the old (blue-green); replicas and
 * autoscaling change in place; an unchanged one is a no-op.
 */
export interface DeployedModelProperties {
  model: string;
  machineType: string;
  accelerator?: { type: string; count: number };
  minReplicas: number;
  maxReplicas: number;
  autoscaling: { metric: string; target: number }[];
  serviceAccount?: string;
}

/** Traffic split of the endpoint, by deployed-model display name (percent). */
export interface TrafficProperties {
  split: Record<string, number>;
}

/** What a deployed model cannot change in place: a change deploys a new one beside it. */
const IMMUTABLE: readonly (keyof DeployedModelProperties)[] = [
  'model',
  'machineType',
  'accelerator',
  'serviceAccount',
];

export function deployedModelResource(
  settings: GcpSettings,
  properties: DeployedModelProperties,
): DesiredResource {
  const props = properties as unknown as Record<string, unknown>;
  // Named after what cannot change, so replicas and autoscaling change in place (MutateDeployedModel).
  const fixed = Object.fromEntries(IMMUTABLE.map((k) => [k, props[k]]));
  return {
    type: RT.deployedModel,
    name: hashedName(settings.name, fixed),
    properties: props,
    immutable: IMMUTABLE,
    dependsOn: [
      resourceKey({ type: RT.endpoint, name: settings.name }),
      resourceKey({ type: RT.model, name: properties.model }),
    ],
  };
}

export function trafficResource(settings: GcpSettings, deployed: string): DesiredResource {
  return {
    type: RT.traffic,
    name: settings.name,
    properties: { split: { [deployed]: 100 } } satisfies TrafficProperties,
    dependsOn: [
      resourceKey({ type: RT.endpoint, name: settings.name }),
      resourceKey({ type: RT.deployedModel, name: deployed }),
    ],
  };
}

type Deployed = DeployedModel;

function deployedProperties(d: Deployed): DeployedModelProperties {
  const resources = d.dedicatedResources ?? {};
  const spec = resources.machineSpec ?? {};
  const acceleratorType = typeof spec.acceleratorType === 'string' ? spec.acceleratorType : undefined;
  return {
    model: idOf(d.model ?? ''),
    machineType: spec.machineType ?? '',
    ...(acceleratorType !== undefined && acceleratorType !== 'ACCELERATOR_TYPE_UNSPECIFIED'
      ? { accelerator: { type: acceleratorType, count: spec.acceleratorCount ?? 0 } }
      : {}),
    minReplicas: resources.minReplicaCount ?? 0,
    maxReplicas: resources.maxReplicaCount ?? 0,
    autoscaling: (resources.autoscalingMetricSpecs ?? []).map((m) => ({
      metric: m.metricName ?? '',
      target: m.target ?? 0,
    })),
    ...(d.serviceAccount ? { serviceAccount: d.serviceAccount } : {}),
  };
}

/** The endpoint's deployed models and traffic split, read from the endpoint (they have no labels of their own). */
export function observeDeployment(dc: DeploymentContext, endpoint: Endpoint): ObservedResource[] {
  const pattern = hashedNamePattern(dc.settings.name);
  const byId = new Map<string, string>();
  const observed: ObservedResource[] = [];
  for (const d of endpoint.deployedModels ?? []) {
    const name = d.displayName ?? '';
    if (!pattern.test(name)) continue;
    byId.set(d.id ?? '', name);
    const properties = deployedProperties(d) as unknown as Record<string, unknown>;
    observed.push({
      type: RT.deployedModel,
      name,
      properties,
      specHash: specHash(properties),
      managed: true,
      state: DeploymentState.Ready,
      dependsOn: [
        resourceKey({ type: RT.endpoint, name: dc.settings.name }),
        resourceKey({ type: RT.model, name: String(properties['model']) }),
      ],
      raw: d,
    });
  }
  const split: Record<string, number> = {};
  for (const [id, percent] of Object.entries((endpoint.trafficSplit ?? {}) as Record<string, number>)) {
    if (percent > 0) split[byId.get(id) ?? id] = percent;
  }
  if (observed.length > 0) {
    const properties = { split } satisfies TrafficProperties;
    observed.push({
      type: RT.traffic,
      name: dc.settings.name,
      properties,
      specHash: specHash(properties),
      managed: true,
      state: DeploymentState.Ready,
      dependsOn: observed.map(resourceKey),
    });
  }
  return observed;
}

/**
 * DeployModel with dedicated resources. The first model of an endpoint takes all its traffic at once; a
 * later one starts with none (the traffic action moves it). A deploy that fails leaves the traffic where it
 * was, and whatever Vertex left of the failed deployed model is undeployed before the error is raised.
 */
export async function deployModel(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as DeployedModelProperties;
  const before = await requireEndpoint(dc);
  if ((before.deployedModels ?? []).some((d) => d.displayName === action.name)) return; // an interrupted apply already did it
  const first = (before.deployedModels ?? []).length === 0;
  try {
    await longRunning(dc, `deploy ${action.name} on endpoint ${dc.settings.name}`, () =>
      dc.clients.endpoints.deployModel(
        {
          endpoint: before.name ?? '',
          deployedModel: {
            model: modelName(dc.settings, p.model),
            displayName: action.name,
            dedicatedResources: {
              machineSpec: machineSpec(p),
              minReplicaCount: p.minReplicas,
              maxReplicaCount: p.maxReplicas,
              autoscalingMetricSpecs: p.autoscaling.map((m) => ({ metricName: m.metric, target: m.target })),
            },
            ...(p.serviceAccount === undefined ? {} : { serviceAccount: p.serviceAccount }),
          },
          ...(first ? { trafficSplit: { '0': 100 } } : {}),
        },
        dc.clients.lro,
      ),
    );
  } catch (error) {
    // A refused call deployed nothing (the engine may retry it); an operation that failed did.
    if (!isOperationFailure(error)) throw error;
    await undeployByName(dc, action.name).catch(() => undefined);
    const serving = (before.deployedModels ?? [])
      .filter((d) => (((before.trafficSplit ?? {}) as Record<string, number>)[d.id ?? ''] ?? 0) > 0)
      .map((d) => d.displayName ?? d.id ?? '');
    throw new ModelportError(
      'unavailable',
      `deploying ${action.name} on endpoint ${dc.settings.name} failed: ${(error as Error).message}${first ? '' : `; traffic stays on ${serving.join(', ') || 'the models already deployed'}`}`,
      {
        retryable: false,
        hint: 'check the serving image, the model artifact and the machine type quota; what this apply created is removed',
        cause: error,
        details: { servingBefore: serving },
      },
    );
  }
}

/** Replica counts and autoscaling metrics, changed in place on the running deployed model. */
export async function mutateDeployedModel(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as DeployedModelProperties;
  const endpoint = await requireEndpoint(dc);
  const target = endpoint.deployedModels?.find((d) => d.displayName === action.name);
  if (target === undefined) {
    throw new ModelportError(
      'notFound',
      `deployed model ${action.name} is not on endpoint ${dc.settings.name}`,
      {
        retryable: true,
      },
    );
  }
  await longRunning(dc, `change the scaling of ${action.name}`, () =>
    dc.clients.endpoints.mutateDeployedModel(
      {
        endpoint: endpoint.name ?? '',
        deployedModel: {
          id: target.id ?? '',
          dedicatedResources: {
            // Required by the API even though it cannot change: the deployed model's own.
            machineSpec: target.dedicatedResources?.machineSpec ?? { machineType: p.machineType },
            minReplicaCount: p.minReplicas,
            maxReplicaCount: p.maxReplicas,
            autoscalingMetricSpecs: p.autoscaling.map((m) => ({ metricName: m.metric, target: m.target })),
          },
        },
        updateMask: {
          paths: [
            'dedicated_resources.min_replica_count',
            'dedicated_resources.max_replica_count',
            'dedicated_resources.autoscaling_metric_specs',
          ],
        },
      },
      dc.clients.lro,
    ),
  );
}

/** Undeploys a deployed model by display name; its traffic goes to the models that stay. */
export async function undeployByName(dc: DeploymentContext, displayName: string): Promise<void> {
  const endpoint = await getEndpoint(dc);
  const target = endpoint?.deployedModels?.find((d) => d.displayName === displayName);
  if (endpoint === undefined || target === undefined) return;
  const split = { ...(endpoint.trafficSplit ?? {}) } as Record<string, number>;
  const share = split[target.id ?? ''] ?? 0;
  delete split[target.id ?? ''];
  const rest = (endpoint.deployedModels ?? []).filter((d) => d !== target);
  let trafficSplit: Record<string, number> | undefined;
  if (share > 0 && rest.length > 0) {
    // Its share goes to the model that already has the most traffic (or the newest, when none has any).
    const heir = rest.reduce(
      (best, d) => ((split[d.id ?? ''] ?? 0) > (split[best.id ?? ''] ?? 0) ? d : best),
      rest.at(-1) as Deployed,
    );
    trafficSplit = { ...split, [heir.id ?? '']: (split[heir.id ?? ''] ?? 0) + share };
  }
  await longRunning(dc, `undeploy ${displayName} from endpoint ${dc.settings.name}`, () =>
    dc.clients.endpoints.undeployModel(
      {
        endpoint: endpoint.name ?? '',
        deployedModelId: target.id ?? '',
        ...(trafficSplit === undefined ? {} : { trafficSplit }),
      },
      dc.clients.lro,
    ),
  );
}

/**
 * Moves the endpoint's traffic to the new deployed model. Canary: `canaryPercent` first, for
 * `bakeTimeSeconds`, then all of it; blue-green and replace: all at once (the old model is undeployed by
 * its own delete action, after this one).
 */
export async function shiftTraffic(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const wanted = (action.desired?.properties as unknown as TrafficProperties).split;
  const endpoint = await requireEndpoint(dc);
  const idOfName = new Map((endpoint.deployedModels ?? []).map((d) => [d.displayName ?? '', d.id ?? '']));
  const target: Record<string, number> = {};
  for (const [name, percent] of Object.entries(wanted)) {
    const id = idOfName.get(name);
    if (id === undefined)
      throw new ModelportError('notFound', `deployed model ${name} is not on endpoint ${dc.settings.name}`, {
        retryable: true,
      });
    target[id] = percent;
  }
  const current = Object.fromEntries(
    Object.entries((endpoint.trafficSplit ?? {}) as Record<string, number>).filter(([, p]) => p > 0),
  );
  // The first model of an endpoint got all the traffic with its deploy: nothing to move.
  if (sameSplit(current, target)) return;
  const traffic = (dc.manifest as LoadedEndpoint).manifest.spec.traffic ?? {};
  const [newId] = Object.keys(target);
  const others = Object.keys(current).filter((id) => id !== newId);
  if (
    traffic.strategy === 'canary' &&
    newId !== undefined &&
    others.length > 0 &&
    (current[newId] ?? 0) === 0
  ) {
    const percent = Math.max(1, Math.min(99, Math.round(traffic.canaryPercent ?? 10)));
    const canary = scaleSplit(current, 100 - percent);
    canary[newId] = percent;
    await setSplit(dc, endpoint, canary);
    const bake = Math.max(0, traffic.bakeTimeSeconds ?? 0);
    dc.ctx.progress(`canary: ${percent}% of traffic on ${Object.keys(wanted)[0] ?? ''} for ${bake} s`);
    await sleep(bake * 1000, dc.ctx.signal);
  }
  await setSplit(dc, endpoint, target);
}

async function setSplit(
  dc: DeploymentContext,
  endpoint: Endpoint,
  split: Record<string, number>,
): Promise<void> {
  await call(`set the traffic split of endpoint ${dc.settings.name}`, () =>
    dc.clients.endpoints.updateEndpoint({
      endpoint: {
        name: endpoint.name ?? '',
        displayName: endpoint.displayName ?? dc.settings.name,
        trafficSplit: split,
      },
      updateMask: { paths: ['traffic_split'] },
    }),
  );
}

function sameSplit(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set(
    [...Object.keys(a), ...Object.keys(b)].filter((k) => (a[k] ?? 0) > 0 || (b[k] ?? 0) > 0),
  );
  return [...keys].every((k) => a[k] === b[k]);
}

/** `split` scaled to add up to `total` (integers; the rounding remainder goes to the largest). */
function scaleSplit(split: Record<string, number>, total: number): Record<string, number> {
  const sum = Object.values(split).reduce((a, b) => a + b, 0) || 1;
  const out: Record<string, number> = {};
  for (const [id, p] of Object.entries(split)) out[id] = Math.floor((p * total) / sum);
  const largest = Object.keys(out).sort((a, b) => (out[b] ?? 0) - (out[a] ?? 0))[0];
  if (largest !== undefined)
    out[largest] = (out[largest] ?? 0) + total - Object.values(out).reduce((a, b) => a + b, 0);
  return out;
}

async function requireEndpoint(dc: DeploymentContext): Promise<Endpoint> {
  const endpoint = await getEndpoint(dc);
  if (endpoint === undefined) {
    throw new ModelportError('notFound', `endpoint ${endpointName(dc.settings)} does not exist`, {
      retryable: true,
    });
  }
  return endpoint;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new ModelportError('timeout', 'cancelled during the canary bake time', { retryable: false }));
      },
      { once: true },
    );
  });
}
