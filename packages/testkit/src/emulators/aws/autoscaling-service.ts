import type { Reply } from './aws-http.js';
import { AwsError, json, validation } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, epochSeconds, list, num, obj, str } from './context.js';
import type { SageMakerService } from './sagemaker-service.js';

export interface ScalableTarget {
  arn: string;
  namespace: string;
  resourceId: string;
  dimension: string;
  min: number;
  max: number;
  created: number;
  request: Record<string, unknown>;
}

export interface ScalingPolicy {
  name: string;
  arn: string;
  namespace: string;
  resourceId: string;
  dimension: string;
  created: number;
  request: Record<string, unknown>;
}

/**
 * Application Auto Scaling (awsJson1_1, `AnyScaleFrontendService.*`): scalable targets with tags and their
 * scaling policies. A SageMaker variant must exist before it can be registered, as with the real service.
 */
export class AutoScalingService {
  readonly targets = new Map<string, ScalableTarget>();
  readonly policies = new Map<string, ScalingPolicy>();
  readonly tags = new Map<string, Record<string, string>>();
  private counter = 0;

  constructor(private readonly sagemaker: SageMakerService) {}

  handle(ctx: CallContext): Reply {
    const input = ctx.input;
    switch (ctx.operation) {
      case 'RegisterScalableTarget':
        return json(this.register(ctx.region, input));
      case 'DescribeScalableTargets': {
        const ids = list(input['ResourceIds']).map(String);
        const found = [...this.targets.values()].filter(
          (t) =>
            t.namespace === str(input, 'ServiceNamespace') &&
            (ids.length === 0 || ids.includes(t.resourceId)) &&
            (str(input, 'ScalableDimension') === undefined ||
              t.dimension === str(input, 'ScalableDimension')),
        );
        return json({
          ScalableTargets: found.map((t) => ({
            ServiceNamespace: t.namespace,
            ResourceId: t.resourceId,
            ScalableDimension: t.dimension,
            MinCapacity: t.min,
            MaxCapacity: t.max,
            RoleARN: `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
            CreationTime: epochSeconds(t.created),
            SuspendedState: {
              DynamicScalingInSuspended: false,
              DynamicScalingOutSuspended: false,
              ScheduledScalingSuspended: false,
            },
            ScalableTargetARN: t.arn,
          })),
        });
      }
      case 'DeregisterScalableTarget': {
        const target = this.targets.get(targetKey(input));
        if (target === undefined)
          throw new AwsError(
            'ObjectNotFoundException',
            `No scalable target registered for service namespace: ${str(input, 'ServiceNamespace')}, resource ID: ${str(input, 'ResourceId')}, scalable dimension: ${str(input, 'ScalableDimension')}`,
          );
        this.targets.delete(targetKey(input));
        this.tags.delete(target.arn);
        for (const [k, policy] of this.policies)
          if (policy.resourceId === target.resourceId) this.policies.delete(k);
        return json({});
      }
      case 'PutScalingPolicy':
        return json(this.putPolicy(ctx.region, input));
      case 'DescribeScalingPolicies': {
        const names = list(input['PolicyNames']).map(String);
        const found = [...this.policies.values()].filter(
          (p) =>
            p.namespace === str(input, 'ServiceNamespace') &&
            (str(input, 'ResourceId') === undefined || p.resourceId === str(input, 'ResourceId')) &&
            (names.length === 0 || names.includes(p.name)),
        );
        return json({
          ScalingPolicies: found.map((p) => ({
            ...p.request,
            PolicyARN: p.arn,
            CreationTime: epochSeconds(p.created),
            Alarms: [],
          })),
        });
      }
      case 'DeleteScalingPolicy': {
        const k = policyKey(input);
        if (!this.policies.has(k))
          throw new AwsError(
            'ObjectNotFoundException',
            `No scaling policy found for service namespace: ${str(input, 'ServiceNamespace')}, resource ID: ${str(input, 'ResourceId')}, scalable dimension: ${str(input, 'ScalableDimension')}, policy name: ${str(input, 'PolicyName')}`,
          );
        this.policies.delete(k);
        return json({});
      }
      case 'ListTagsForResource':
        return json({ Tags: this.tagsOf(str(input, 'ResourceARN') ?? '') });
      case 'TagResource':
        Object.assign(this.tagsOf(str(input, 'ResourceARN') ?? ''), obj(input['Tags']));
        return json({});
      case 'UntagResource': {
        const tags = this.tagsOf(str(input, 'ResourceARN') ?? '');
        for (const k of list(input['TagKeys'])) delete tags[String(k)];
        return json({});
      }
      default:
        throw new AwsError(
          'UnknownOperationException',
          `the emulator does not implement AnyScaleFrontendService.${ctx.operation}`,
        );
    }
  }

  private register(region: string, input: Record<string, unknown>): unknown {
    const resourceId = str(input, 'ResourceId') ?? '';
    if (str(input, 'ServiceNamespace') === 'sagemaker') {
      const match = /^endpoint\/([^/]+)\/variant\/([^/]+)$/.exec(resourceId);
      const endpoint =
        match === null ? undefined : this.sagemaker.endpoints.get((match[1] as string).toLowerCase());
      if (endpoint === undefined) {
        throw validation(`The endpoint ${match?.[1] ?? resourceId} does not exist, or is not in service.`);
      }
    }
    const k = targetKey(input);
    const existing = this.targets.get(k);
    if (existing !== undefined) {
      existing.min = num(input, 'MinCapacity') ?? existing.min;
      existing.max = num(input, 'MaxCapacity') ?? existing.max;
      if (existing.min > existing.max)
        throw validation('Minimum capacity cannot be greater than maximum capacity');
      return { ScalableTargetARN: existing.arn };
    }
    const min = num(input, 'MinCapacity');
    const max = num(input, 'MaxCapacity');
    if (min === undefined || max === undefined) {
      throw validation('MinCapacity and MaxCapacity are required when registering a new scalable target');
    }
    if (min > max) throw validation('Minimum capacity cannot be greater than maximum capacity');
    const arn = `arn:aws:application-autoscaling:${region}:${ACCOUNT_ID}:scalable-target/${(++this.counter).toString(16).padStart(8, '0')}`;
    this.targets.set(k, {
      arn,
      namespace: str(input, 'ServiceNamespace') ?? '',
      resourceId,
      dimension: str(input, 'ScalableDimension') ?? '',
      min,
      max,
      created: Date.now(),
      request: input,
    });
    this.tags.set(
      arn,
      Object.fromEntries(Object.entries(obj(input['Tags'])).map(([k2, v]) => [k2, String(v)])),
    );
    return { ScalableTargetARN: arn };
  }

  private putPolicy(region: string, input: Record<string, unknown>): unknown {
    if (!this.targets.has(targetKey(input))) {
      throw new AwsError(
        'ObjectNotFoundException',
        `No scalable target registered for service namespace: ${str(input, 'ServiceNamespace')}, resource ID: ${str(input, 'ResourceId')}, scalable dimension: ${str(input, 'ScalableDimension')}`,
      );
    }
    const type = str(input, 'PolicyType') ?? 'StepScaling';
    if (type === 'TargetTrackingScaling' && input['TargetTrackingScalingPolicyConfiguration'] === undefined) {
      throw validation(
        'TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy',
      );
    }
    const k = policyKey(input);
    const existing = this.policies.get(k);
    const name = str(input, 'PolicyName') ?? '';
    const arn =
      existing?.arn ??
      `arn:aws:autoscaling:${region}:${ACCOUNT_ID}:scalingPolicy:${(++this.counter).toString(16)}:resource/${str(input, 'ServiceNamespace')}/${str(input, 'ResourceId')}:policyName/${name}`;
    this.policies.set(k, {
      name,
      arn,
      namespace: str(input, 'ServiceNamespace') ?? '',
      resourceId: str(input, 'ResourceId') ?? '',
      dimension: str(input, 'ScalableDimension') ?? '',
      created: existing?.created ?? Date.now(),
      request: { ...input, PolicyType: type },
    });
    return { PolicyARN: arn, Alarms: [] };
  }

  private tagsOf(arn: string): Record<string, string> {
    const tags = this.tags.get(arn);
    if (tags === undefined) throw new AwsError('ResourceNotFoundException', `Resource ${arn} not found`);
    return tags;
  }
}

function targetKey(input: Record<string, unknown>): string {
  return [str(input, 'ServiceNamespace'), str(input, 'ResourceId'), str(input, 'ScalableDimension')].join(
    '|',
  );
}

function policyKey(input: Record<string, unknown>): string {
  return `${targetKey(input)}|${str(input, 'PolicyName')}`;
}
