import { DescribeScalingPoliciesCommand } from '@aws-sdk/client-application-auto-scaling';
import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
  TagResourceCommand,
} from '@aws-sdk/client-cloudwatch';
import type { ComparisonOperator, MetricAlarm, Statistic } from '@aws-sdk/client-cloudwatch';
import type { DesiredResource, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, TAGS, resourceKey } from '@modelport/core';
import type { ScalingIntent } from './autoscaling.js';
import { resourceIdOf, scaleOutFromZeroPolicy, scalesToZero } from './autoscaling.js';
import type { DeploymentContext } from './deployment-context.js';
import { call, isNotFound } from './errors.js';
import { RT } from './resource-types.js';
import type { AwsSettings } from './settings.js';
import { isOurs, resourceTags, tagList } from './settings.js';

/**
 * The CloudWatch alarm that wakes an async endpoint scaled to zero: with no instance, the backlog per
 * instance is undefined and target tracking never scales out, so SageMaker documents an alarm on
 * `HasBacklogWithoutCapacity` whose action is the step policy (`<endpoint>-scale-out-from-zero`).
 * The policy is named, not its ARN: the ARN exists only once the policy is put, and is looked up then.
 */
export interface AlarmProperties {
  metric: string;
  namespace: string;
  dimensions: Record<string, string>;
  statistic: string;
  period: number;
  evaluationPeriods: number;
  threshold: number;
  comparison: string;
  treatMissingData: string;
  /** The scaling policy the alarm triggers, by name. */
  actionPolicy: string;
}

export function alarmName(endpoint: string): string {
  return `${endpoint}-backlog-without-capacity`;
}

/** The alarm, desired only where the step policy is: an async endpoint that may scale to zero. */
export function alarmResources(settings: AwsSettings, intent: ScalingIntent): DesiredResource[] {
  if (!scalesToZero(intent)) return [];
  const policy = scaleOutFromZeroPolicy(settings.name);
  return [
    {
      type: RT.alarm,
      name: alarmName(settings.name),
      properties: {
        metric: 'HasBacklogWithoutCapacity',
        namespace: 'AWS/SageMaker',
        dimensions: { EndpointName: settings.name },
        statistic: 'Average',
        period: 60,
        evaluationPeriods: 2,
        threshold: 1,
        comparison: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'missing',
        actionPolicy: policy,
      } satisfies AlarmProperties as unknown as Record<string, unknown>,
      dependsOn: [resourceKey({ type: RT.scalingPolicy, name: policy })],
    },
  ];
}

export async function observeAlarm(dc: DeploymentContext): Promise<ObservedResource[]> {
  const name = alarmName(dc.settings.name);
  const { cloudwatch } = dc.clients;
  const described = await call('describe the backlog alarm', () =>
    cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm'] })),
  );
  const alarm = described.MetricAlarms?.find((a) => a.AlarmName === name);
  if (alarm === undefined) return [];
  let tags: Record<string, string> = {};
  if (alarm.AlarmArn !== undefined) {
    try {
      const listed = await call('read the backlog alarm tags', () =>
        cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: alarm.AlarmArn })),
      );
      tags = Object.fromEntries((listed.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return [
    {
      type: RT.alarm,
      name,
      properties: alarmProperties(alarm) as unknown as Record<string, unknown>,
      specHash: tags[TAGS.specHash],
      managed: isOurs(tags, dc.settings),
      state: DeploymentState.Ready,
      dependsOn: [resourceKey({ type: RT.scalingPolicy, name: scaleOutFromZeroPolicy(dc.settings.name) })],
      raw: alarm,
    },
  ];
}

/** The alarm as compared: read back in the shape `alarmResource` declares, so a re-apply is a no-op. */
function alarmProperties(alarm: MetricAlarm): AlarmProperties {
  const action = alarm.AlarmActions?.[0] ?? '';
  return {
    metric: alarm.MetricName ?? '',
    namespace: alarm.Namespace ?? '',
    dimensions: Object.fromEntries((alarm.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? ''])),
    statistic: alarm.Statistic ?? '',
    period: alarm.Period ?? 0,
    evaluationPeriods: alarm.EvaluationPeriods ?? 0,
    threshold: alarm.Threshold ?? 0,
    comparison: alarm.ComparisonOperator ?? '',
    treatMissingData: alarm.TreatMissingData ?? 'missing',
    // Application Auto Scaling policy ARNs end in `:policyName/<name>`.
    actionPolicy: /:policyName\/(.+)$/.exec(action)?.[1] ?? action,
  };
}

/**
 * Puts the alarm (PutMetricAlarm creates or replaces it), with the step policy's ARN as its action.
 * Tags given to PutMetricAlarm apply to a new alarm only: an update re-tags, as for the scalable target.
 */
export async function putAlarm(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const p = action.desired?.properties as unknown as AlarmProperties;
  const policyArn = await scalingPolicyArn(dc, p.actionPolicy);
  const tags = tagList(resourceTags(dc.settings, action.specHash));
  const { cloudwatch } = dc.clients;
  await call(`put alarm ${action.name}`, () =>
    cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: action.name,
        AlarmDescription: `modelport: scales ${dc.settings.name} out from zero when requests wait`,
        ActionsEnabled: true,
        AlarmActions: [policyArn],
        MetricName: p.metric,
        Namespace: p.namespace,
        Dimensions: Object.entries(p.dimensions).map(([Name, Value]) => ({ Name, Value })),
        Statistic: p.statistic as Statistic,
        Period: p.period,
        EvaluationPeriods: p.evaluationPeriods,
        Threshold: p.threshold,
        ComparisonOperator: p.comparison as ComparisonOperator,
        TreatMissingData: p.treatMissingData,
        ...(action.kind === 'create' ? { Tags: tags } : {}),
      }),
    ),
  );
  if (action.kind === 'create') return;
  const described = await call(`describe alarm ${action.name}`, () =>
    cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [action.name], AlarmTypes: ['MetricAlarm'] })),
  );
  const arn = described.MetricAlarms?.[0]?.AlarmArn;
  if (arn !== undefined) {
    await call(`tag alarm ${action.name}`, () =>
      cloudwatch.send(new TagResourceCommand({ ResourceARN: arn, Tags: tags })),
    );
  }
}

/** PutScalingPolicy's PolicyARN, read back: the policy is put by an earlier action of the same apply. */
async function scalingPolicyArn(dc: DeploymentContext, policy: string): Promise<string> {
  const described = await call(`describe scaling policy ${policy}`, () =>
    dc.clients.autoscaling.send(
      new DescribeScalingPoliciesCommand({
        ServiceNamespace: 'sagemaker',
        ResourceId: resourceIdOf(dc.settings.name),
        PolicyNames: [policy],
      }),
    ),
  );
  const arn = described.ScalingPolicies?.find((s) => s.PolicyName === policy)?.PolicyARN;
  if (arn === undefined) {
    throw new ModelportError(
      'internal',
      `the scaling policy ${policy} the backlog alarm triggers is missing`,
    );
  }
  return arn;
}

export async function deleteAlarm(dc: DeploymentContext, name: string): Promise<void> {
  // DeleteAlarms ignores names that do not exist, so a second destroy is a no-op too.
  await call(`delete alarm ${name}`, () =>
    dc.clients.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [name] })),
  );
}
