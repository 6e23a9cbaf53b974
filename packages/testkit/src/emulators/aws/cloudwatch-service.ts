import type { Reply } from './aws-http.js';
import { AwsError, json, validation } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, epochSeconds, list, obj, str } from './context.js';

export interface MetricAlarm {
  name: string;
  arn: string;
  updated: number;
  /** The PutMetricAlarm request as sent (without its tags). */
  request: Record<string, unknown>;
}

// The SDK v3 client speaks awsJson1_0 with `x-amz-json-1.0` bodies (awsQueryCompatible for errors).
const JSON_1_0 = { 'content-type': 'application/x-amz-json-1.0' };

/**
 * CloudWatch metric alarms (awsJson1_0, `GraniteServiceVersion20100801.*`): enough for the scale-out-from-zero
 * alarm of async endpoints. Alarms are stored by name and tagged by ARN; metrics are never evaluated, so
 * every alarm stays `INSUFFICIENT_DATA`, as a new alarm does on AWS before its first datapoints.
 */
export class CloudWatchService {
  readonly alarms = new Map<string, MetricAlarm>();
  readonly tags = new Map<string, Record<string, string>>();

  handle(ctx: CallContext): Reply {
    const input = ctx.input;
    switch (ctx.operation) {
      case 'PutMetricAlarm':
        this.put(ctx.region, input);
        return json({}, 200, JSON_1_0);
      case 'DescribeAlarms':
        return json(
          { MetricAlarms: this.describe(input).map(describeAlarm), CompositeAlarms: [] },
          200,
          JSON_1_0,
        );
      case 'DeleteAlarms': {
        // AWS deletes the alarms that exist and ignores the others (no error for an unknown name).
        for (const name of list(input['AlarmNames']).map(String)) {
          const alarm = this.alarms.get(name);
          if (alarm === undefined) continue;
          this.alarms.delete(name);
          this.tags.delete(alarm.arn);
        }
        return json({}, 200, JSON_1_0);
      }
      case 'ListTagsForResource':
        return json({ Tags: tagList(this.tagsOf(str(input, 'ResourceARN') ?? '')) }, 200, JSON_1_0);
      case 'TagResource':
        Object.assign(this.tagsOf(str(input, 'ResourceARN') ?? ''), tagMap(input['Tags']));
        return json({}, 200, JSON_1_0);
      case 'UntagResource': {
        const tags = this.tagsOf(str(input, 'ResourceARN') ?? '');
        for (const k of list(input['TagKeys'])) delete tags[String(k)];
        return json({}, 200, JSON_1_0);
      }
      default:
        throw new AwsError(
          'UnknownOperationException',
          `the emulator does not implement GraniteServiceVersion20100801.${ctx.operation}`,
        );
    }
  }

  private put(region: string, input: Record<string, unknown>): void {
    const name = str(input, 'AlarmName');
    if (name === undefined || name === '') throw validation('AlarmName is required');
    for (const required of ['ComparisonOperator', 'EvaluationPeriods'] as const) {
      if (input[required] === undefined) throw validation(`${required} is required`);
    }
    if (str(input, 'MetricName') === undefined && input['Metrics'] === undefined) {
      throw validation('Either MetricName or Metrics must be specified');
    }
    const { Tags: tags, ...request } = input;
    const existing = this.alarms.get(name);
    const arn = existing?.arn ?? `arn:aws:cloudwatch:${region}:${ACCOUNT_ID}:alarm:${name}`;
    this.alarms.set(name, { name, arn, updated: Date.now(), request });
    // As on AWS, tags given to PutMetricAlarm apply when the alarm is created and are ignored on an update.
    if (existing === undefined) this.tags.set(arn, tagMap(tags));
  }

  private describe(input: Record<string, unknown>): MetricAlarm[] {
    const names = list(input['AlarmNames']).map(String);
    const prefix = str(input, 'AlarmNamePrefix');
    if (names.length > 0 && prefix !== undefined) {
      throw validation('AlarmNames and AlarmNamePrefix cannot be specified together');
    }
    return [...this.alarms.values()]
      .filter(
        (a) =>
          (names.length === 0 || names.includes(a.name)) &&
          (prefix === undefined || a.name.startsWith(prefix)),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private tagsOf(arn: string): Record<string, string> {
    const tags = this.tags.get(arn);
    if (tags === undefined) throw new AwsError('ResourceNotFoundException', `Resource ${arn} not found`);
    return tags;
  }
}

function describeAlarm(alarm: MetricAlarm): Record<string, unknown> {
  return {
    ActionsEnabled: true,
    OKActions: [],
    AlarmActions: [],
    InsufficientDataActions: [],
    Dimensions: [],
    ...alarm.request,
    AlarmArn: alarm.arn,
    AlarmConfigurationUpdatedTimestamp: epochSeconds(alarm.updated),
    StateValue: 'INSUFFICIENT_DATA',
    StateReason: 'Unchecked: Initial alarm creation',
    StateUpdatedTimestamp: epochSeconds(alarm.updated),
  };
}

/** CloudWatch tags travel as `[{Key, Value}]`. */
function tagMap(value: unknown): Record<string, string> {
  return Object.fromEntries(
    list(value).map((t) => [String(obj(t)['Key'] ?? ''), String(obj(t)['Value'] ?? '')]),
  );
}

function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
