import type { AutoscaleSettingResource, ScaleRule } from '@azure/arm-monitor';
import type { DesiredResource, LoadedEndpoint, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, resourceKey } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { call, getOrUndefined } from './errors.js';
import { RT } from './resource-types.js';
import type { AzureSettings } from './settings.js';
import { AZURE_TAGS, isOurs, resourceTags, workspaceId } from './settings.js';

/** An autoscale setting as compared (read back in the same shape). */
export interface AutoscaleProperties {
  targetResourceUri: string;
  minimum: number;
  maximum: number;
  metricName: string;
  metricResourceUri: string;
  threshold: number;
}

/** Neutral metrics → Azure ML online deployment metrics (per instance where Azure reports a total). */
const METRICS: Readonly<Record<string, { name: string; onEndpoint: boolean }>> = {
  cpuUtilization: { name: 'CpuUtilizationPercentage', onEndpoint: false },
  gpuUtilization: { name: 'GpuUtilizationPercentage', onEndpoint: false },
  requestsPerReplica: { name: 'RequestsPerMinute', onEndpoint: true },
};

export function autoscaleName(s: AzureSettings): string {
  return `${s.name}-autoscale`;
}

/**
 * Azure Monitor autoscale on the deployment that takes the traffic: capacity min/max from scaling, one rule
 * out (above the target) and one in (below 60 % of it), 5 minute cool-downs as Azure ML's samples do.
 */
export function autoscaleResource(
  manifest: LoadedEndpoint,
  s: AzureSettings,
  deployment: DesiredResource,
  traffic: DesiredResource,
): DesiredResource {
  const scaling = manifest.manifest.spec.scaling ?? {};
  const metric = scaling.metric ?? 'cpuUtilization';
  const azureMetric = METRICS[metric];
  if (azureMetric === undefined) {
    throw new ModelportError('capability', `Azure ML autoscale has no metric for ${metric}`, {
      hint: 'use cpuUtilization, gpuUtilization or requestsPerReplica',
    });
  }
  const endpointId = `${workspaceId(s)}/onlineEndpoints/${s.name}`;
  const targetResourceUri = `${endpointId}/deployments/${deployment.name.split('/')[1] ?? ''}`;
  const properties: AutoscaleProperties = {
    targetResourceUri,
    minimum: Math.max(1, scaling.minReplicas ?? 1),
    maximum: scaling.maxReplicas ?? 1,
    metricName: azureMetric.name,
    metricResourceUri: azureMetric.onEndpoint ? endpointId : targetResourceUri,
    threshold: scaling.target ?? (metric === 'requestsPerReplica' ? 1000 : 70),
  };
  return {
    type: RT.autoscale,
    name: autoscaleName(s),
    properties: properties as unknown as Record<string, unknown>,
    dependsOn: [resourceKey(deployment), resourceKey(traffic)],
  };
}

export async function observeAutoscale(dc: DeploymentContext): Promise<ObservedResource[]> {
  const s = dc.settings;
  const found = await getOrUndefined(`read autoscale setting ${autoscaleName(s)}`, () =>
    dc.clients.monitor.autoscaleSettings.get(s.resourceGroup, autoscaleName(s)),
  );
  if (found === undefined) return [];
  const profile = found.profiles[0];
  const out = profile?.rules.find((r) => r.scaleAction.direction === 'Increase');
  const target = found.targetResourceUri ?? '';
  const deploymentName = target.split('/').pop() ?? '';
  return [
    {
      type: RT.autoscale,
      name: autoscaleName(s),
      properties: {
        targetResourceUri: target,
        minimum: Number(profile?.capacity.minimum),
        maximum: Number(profile?.capacity.maximum),
        metricName: out?.metricTrigger.metricName,
        metricResourceUri: out?.metricTrigger.metricResourceUri,
        threshold: out?.metricTrigger.threshold,
      },
      specHash: found.tags?.[AZURE_TAGS.specHash],
      managed: isOurs(found.tags, s),
      state: found.enabled === false ? DeploymentState.Stopped : DeploymentState.Ready,
      // Deleted before the deployment it scales.
      dependsOn: [resourceKey({ type: RT.onlineDeployment, name: `${s.name}/${deploymentName}` })],
      raw: found,
    },
  ];
}

export async function putAutoscale(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const p = action.desired?.properties as unknown as AutoscaleProperties;
  const rule = (direction: 'Increase' | 'Decrease', threshold: number): ScaleRule => ({
    metricTrigger: {
      metricName: p.metricName,
      metricResourceUri: p.metricResourceUri,
      timeGrain: 'PT1M',
      statistic: 'Average',
      timeWindow: 'PT5M',
      timeAggregation: 'Average',
      operator: direction === 'Increase' ? 'GreaterThan' : 'LessThan',
      threshold,
      dividePerInstance: p.metricName === 'RequestsPerMinute',
      ...(p.metricName === 'RequestsPerMinute'
        ? {
            dimensions: [
              {
                dimensionName: 'deployment',
                operator: 'Equals',
                values: [p.targetResourceUri.split('/').pop() ?? ''],
              },
            ],
          }
        : {}),
    },
    scaleAction: { direction, type: 'ChangeCount', value: '1', cooldown: 'PT5M' },
  });
  const body: AutoscaleSettingResource = {
    location: s.location,
    tags: resourceTags(s, action.specHash),
    name: autoscaleName(s),
    enabled: true,
    targetResourceUri: p.targetResourceUri,
    profiles: [
      {
        name: 'modelport',
        capacity: { minimum: String(p.minimum), maximum: String(p.maximum), default: String(p.minimum) },
        rules: [rule('Increase', p.threshold), rule('Decrease', Math.round(p.threshold * 0.6 * 100) / 100)],
      },
    ],
  };
  await call(`put autoscale setting ${autoscaleName(s)}`, () =>
    dc.clients.monitor.autoscaleSettings.createOrUpdate(s.resourceGroup, autoscaleName(s), body),
  );
}

export async function deleteAutoscale(dc: DeploymentContext): Promise<void> {
  const s = dc.settings;
  await getOrUndefined(`delete autoscale setting ${autoscaleName(s)}`, () =>
    dc.clients.monitor.autoscaleSettings.delete(s.resourceGroup, autoscaleName(s)),
  );
}
