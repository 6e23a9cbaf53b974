import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  ListTagsForResourceCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  TagResourceCommand,
} from '@aws-sdk/client-application-auto-scaling';
import type { ScalingPolicy } from '@aws-sdk/client-application-auto-scaling';
import type { DesiredResource, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, TAGS, resourceKey, specHash } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { VARIANT } from './endpoint-config.js';
import { call, isNotFound } from './errors.js';
import { RT } from './resource-types.js';
import type { AwsSettings } from './settings.js';
import { isOurs, resourceTags } from './settings.js';

const NAMESPACE = 'sagemaker';
const DIMENSION = 'sagemaker:variant:DesiredInstanceCount';

export interface ScalableTargetProperties {
  min: number;
  max: number;
}

/** A scaling policy as compared; policies carry no tags, so their spec hash is computed from what is read back. */
export interface ScalingPolicyProperties {
  policyType: 'TargetTrackingScaling' | 'StepScaling';
  targetTracking?: {
    targetValue: number;
    predefinedMetric?: string;
    customMetric?: { name: string; namespace: string; dimensions: Record<string, string>; statistic: string };
    scaleInCooldown: number;
    scaleOutCooldown: number;
  };
  step?: { adjustmentType: string; cooldown: number; adjustments: { lowerBound: number; change: number }[] };
}

export interface ScalingIntent {
  min: number;
  max: number;
  /** The neutral metric (`requestsPerReplica`, `backlogPerReplica`, ...) and its target per replica. */
  metric: string;
  target: number;
  mode: 'realtime' | 'async';
}

export function resourceIdOf(endpoint: string): string {
  return `endpoint/${endpoint}/variant/${VARIANT}`;
}

/** The step policy that brings an async endpoint back from zero (the backlog alarm's action). */
export function scaleOutFromZeroPolicy(endpoint: string): string {
  return `${endpoint}-scale-out-from-zero`;
}

export function scalesToZero(intent: ScalingIntent): boolean {
  return intent.mode === 'async' && intent.min === 0;
}

/**
 * Application Auto Scaling resources of an endpoint: the scalable target (its variant's instance count) and
 * a target-tracking policy; an async endpoint that may scale to zero also gets the step policy that brings
 * it back from zero when a backlog appears (SageMaker's documented pattern; the CloudWatch alarm that
 * triggers it is in alarm.ts).
 */
export function scalingResources(settings: AwsSettings, intent: ScalingIntent): DesiredResource[] {
  const targetName = resourceIdOf(settings.name);
  const targetId = resourceKey({ type: RT.scalableTarget, name: targetName });
  const resources: DesiredResource[] = [
    {
      type: RT.scalableTarget,
      name: targetName,
      properties: { min: intent.min, max: intent.max } satisfies ScalableTargetProperties,
      dependsOn: [resourceKey({ type: RT.endpoint, name: settings.name })],
    },
    {
      type: RT.scalingPolicy,
      name: `${settings.name}-target-tracking`,
      properties: targetTracking(settings, intent) as unknown as Record<string, unknown>,
      dependsOn: [targetId],
    },
  ];
  if (scalesToZero(intent)) {
    resources.push({
      type: RT.scalingPolicy,
      name: scaleOutFromZeroPolicy(settings.name),
      properties: {
        policyType: 'StepScaling',
        step: {
          adjustmentType: 'ChangeInCapacity',
          cooldown: 150,
          adjustments: [{ lowerBound: 0, change: 1 }],
        },
      } satisfies ScalingPolicyProperties as unknown as Record<string, unknown>,
      dependsOn: [targetId],
    });
  }
  return resources;
}

function targetTracking(settings: AwsSettings, intent: ScalingIntent): ScalingPolicyProperties {
  const base = { targetValue: intent.target, scaleInCooldown: 300, scaleOutCooldown: 60 };
  const endpointMetric = (name: string, namespace: string) => ({
    customMetric: {
      name,
      namespace,
      dimensions: { EndpointName: settings.name, VariantName: VARIANT },
      statistic: 'Average',
    },
  });
  switch (intent.metric) {
    case 'backlogPerReplica':
      return {
        policyType: 'TargetTrackingScaling',
        targetTracking: {
          ...base,
          customMetric: {
            name: 'ApproximateBacklogSizePerInstance',
            namespace: 'AWS/SageMaker',
            dimensions: { EndpointName: settings.name },
            statistic: 'Average',
          },
        },
      };
    case 'concurrency':
      return {
        policyType: 'TargetTrackingScaling',
        targetTracking: {
          ...base,
          predefinedMetric: 'SageMakerVariantConcurrentRequestsPerModelHighResolution',
        },
      };
    case 'cpuUtilization':
      return {
        policyType: 'TargetTrackingScaling',
        targetTracking: { ...base, ...endpointMetric('CPUUtilization', '/aws/sagemaker/Endpoints') },
      };
    case 'gpuUtilization':
      return {
        policyType: 'TargetTrackingScaling',
        targetTracking: { ...base, ...endpointMetric('GPUUtilization', '/aws/sagemaker/Endpoints') },
      };
    default:
      return {
        policyType: 'TargetTrackingScaling',
        targetTracking: { ...base, predefinedMetric: 'SageMakerVariantInvocationsPerInstance' },
      };
  }
}

export async function observeScaling(dc: DeploymentContext): Promise<ObservedResource[]> {
  const resourceId = resourceIdOf(dc.settings.name);
  const { autoscaling } = dc.clients;
  const targets = await call('describe the scalable targets', () =>
    autoscaling.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: NAMESPACE,
        ResourceIds: [resourceId],
        ScalableDimension: DIMENSION,
      }),
    ),
  );
  const target = targets.ScalableTargets?.[0];
  if (target === undefined) return [];
  let tags: Record<string, string> = {};
  if (target.ScalableTargetARN !== undefined) {
    try {
      const listed = await call('read the scalable target tags', () =>
        autoscaling.send(new ListTagsForResourceCommand({ ResourceARN: target.ScalableTargetARN })),
      );
      tags = Object.fromEntries(Object.entries(listed.Tags ?? {}).map(([k, v]) => [k, v ?? '']));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  const managed = isOurs(tags, dc.settings);
  const targetId = resourceKey({ type: RT.scalableTarget, name: resourceId });
  const observed: ObservedResource[] = [
    {
      type: RT.scalableTarget,
      name: resourceId,
      properties: { min: target.MinCapacity ?? 0, max: target.MaxCapacity ?? 0 },
      specHash: tags[TAGS.specHash],
      managed,
      state: DeploymentState.Ready,
      dependsOn: [resourceKey({ type: RT.endpoint, name: dc.settings.name })],
      raw: target,
    },
  ];
  if (!managed) return observed;
  const policies = await call('describe the scaling policies', () =>
    autoscaling.send(
      new DescribeScalingPoliciesCommand({
        ServiceNamespace: NAMESPACE,
        ResourceId: resourceId,
        ScalableDimension: DIMENSION,
      }),
    ),
  );
  for (const policy of policies.ScalingPolicies ?? []) {
    if (policy.PolicyName === undefined || !policy.PolicyName.startsWith(`${dc.settings.name}-`)) continue;
    const properties = policyProperties(policy) as unknown as Record<string, unknown>;
    observed.push({
      type: RT.scalingPolicy,
      name: policy.PolicyName,
      properties,
      specHash: specHash(properties),
      managed: true,
      state: DeploymentState.Ready,
      dependsOn: [targetId],
      raw: policy,
    });
  }
  return observed;
}

function policyProperties(policy: ScalingPolicy): ScalingPolicyProperties {
  const tt = policy.TargetTrackingScalingPolicyConfiguration;
  const step = policy.StepScalingPolicyConfiguration;
  const custom = tt?.CustomizedMetricSpecification;
  return {
    policyType: policy.PolicyType === 'StepScaling' ? 'StepScaling' : 'TargetTrackingScaling',
    ...(tt === undefined
      ? {}
      : {
          targetTracking: {
            targetValue: tt.TargetValue ?? 0,
            ...(tt.PredefinedMetricSpecification?.PredefinedMetricType === undefined
              ? {}
              : { predefinedMetric: tt.PredefinedMetricSpecification.PredefinedMetricType }),
            ...(custom === undefined
              ? {}
              : {
                  customMetric: {
                    name: custom.MetricName ?? '',
                    namespace: custom.Namespace ?? '',
                    dimensions: Object.fromEntries(
                      (custom.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? '']),
                    ),
                    statistic: custom.Statistic ?? '',
                  },
                }),
            scaleInCooldown: tt.ScaleInCooldown ?? 0,
            scaleOutCooldown: tt.ScaleOutCooldown ?? 0,
          },
        }),
    ...(step === undefined
      ? {}
      : {
          step: {
            adjustmentType: step.AdjustmentType ?? '',
            cooldown: step.Cooldown ?? 0,
            adjustments: (step.StepAdjustments ?? []).map((a) => ({
              lowerBound: a.MetricIntervalLowerBound ?? 0,
              change: a.ScalingAdjustment ?? 0,
            })),
          },
        }),
  };
}

/** Registers (or re-registers, which updates) the scalable target, tagged. */
export async function putScalableTarget(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as ScalableTargetProperties;
  const tags = resourceTags(dc.settings, action.specHash);
  const registered = await call(`register scalable target ${action.name}`, () =>
    dc.clients.autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: NAMESPACE,
        ResourceId: action.name,
        ScalableDimension: DIMENSION,
        MinCapacity: p.min,
        MaxCapacity: p.max,
        ...(action.kind === 'create' ? { Tags: tags } : {}),
      }),
    ),
  );
  // Tags passed to RegisterScalableTarget apply to new targets only: an update re-tags.
  if (action.kind !== 'create' && registered.ScalableTargetARN !== undefined) {
    await call(`tag scalable target ${action.name}`, () =>
      dc.clients.autoscaling.send(
        new TagResourceCommand({ ResourceARN: registered.ScalableTargetARN, Tags: tags }),
      ),
    );
  }
}

export async function deleteScalableTarget(dc: DeploymentContext, resourceId: string): Promise<void> {
  try {
    await call(`deregister scalable target ${resourceId}`, () =>
      dc.clients.autoscaling.send(
        new DeregisterScalableTargetCommand({
          ServiceNamespace: NAMESPACE,
          ResourceId: resourceId,
          ScalableDimension: DIMENSION,
        }),
      ),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export async function putScalingPolicy(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as ScalingPolicyProperties;
  const tt = p.targetTracking;
  const step = p.step;
  await call(`put scaling policy ${action.name}`, () =>
    dc.clients.autoscaling.send(
      new PutScalingPolicyCommand({
        PolicyName: action.name,
        ServiceNamespace: NAMESPACE,
        ResourceId: resourceIdOf(dc.settings.name),
        ScalableDimension: DIMENSION,
        PolicyType: p.policyType,
        ...(tt === undefined
          ? {}
          : {
              TargetTrackingScalingPolicyConfiguration: {
                TargetValue: tt.targetValue,
                ScaleInCooldown: tt.scaleInCooldown,
                ScaleOutCooldown: tt.scaleOutCooldown,
                ...(tt.predefinedMetric === undefined
                  ? {}
                  : {
                      PredefinedMetricSpecification: { PredefinedMetricType: tt.predefinedMetric as never },
                    }),
                ...(tt.customMetric === undefined
                  ? {}
                  : {
                      CustomizedMetricSpecification: {
                        MetricName: tt.customMetric.name,
                        Namespace: tt.customMetric.namespace,
                        Dimensions: Object.entries(tt.customMetric.dimensions).map(([Name, Value]) => ({
                          Name,
                          Value,
                        })),
                        Statistic: tt.customMetric.statistic as never,
                      },
                    }),
              },
            }),
        ...(step === undefined
          ? {}
          : {
              StepScalingPolicyConfiguration: {
                AdjustmentType: step.adjustmentType as never,
                Cooldown: step.cooldown,
                MetricAggregationType: 'Maximum',
                StepAdjustments: step.adjustments.map((a) => ({
                  MetricIntervalLowerBound: a.lowerBound,
                  ScalingAdjustment: a.change,
                })),
              },
            }),
      }),
    ),
  );
}

export async function deleteScalingPolicy(dc: DeploymentContext, name: string): Promise<void> {
  try {
    await call(`delete scaling policy ${name}`, () =>
      dc.clients.autoscaling.send(
        new DeleteScalingPolicyCommand({
          PolicyName: name,
          ServiceNamespace: NAMESPACE,
          ResourceId: resourceIdOf(dc.settings.name),
          ScalableDimension: DIMENSION,
        }),
      ),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
