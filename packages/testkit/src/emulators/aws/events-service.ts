import type { Reply } from './aws-http.js';
import { AwsError, json } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, list, obj, str } from './context.js';
import type { S3Object } from './s3-service.js';

export interface Rule {
  name: string;
  arn: string;
  request: Record<string, unknown>;
  targets: Map<string, Record<string, unknown>>;
}

/** Delivers an event to one rule target (a Batch job queue, here). */
export type RuleTargetRunner = (
  target: Record<string, unknown>,
  event: Record<string, unknown>,
  region: string,
) => void;

/**
 * EventBridge (awsJson1_1, `AWSEvents.*`): rules with event patterns, targets and tags. S3 "Object Created"
 * events of buckets with EventBridge notifications are matched against the rules and delivered.
 */
export class EventsService {
  readonly rules = new Map<string, Rule>();
  readonly tags = new Map<string, Record<string, string>>();
  readonly delivered: { rule: string; event: Record<string, unknown> }[] = [];

  constructor(private readonly deliver: RuleTargetRunner) {}

  handle(ctx: CallContext): Reply {
    const input = ctx.input;
    switch (ctx.operation) {
      case 'PutRule': {
        const name = str(input, 'Name') ?? '';
        const arn = `arn:aws:events:${ctx.region}:${ACCOUNT_ID}:rule/${name}`;
        if (input['EventPattern'] !== undefined) {
          try {
            JSON.parse(String(input['EventPattern']));
          } catch {
            throw new AwsError('InvalidEventPatternException', 'Event pattern is not valid JSON');
          }
        }
        const existing = this.rules.get(name);
        this.rules.set(name, { name, arn, request: input, targets: existing?.targets ?? new Map() });
        if (existing === undefined || input['Tags'] !== undefined)
          this.tags.set(arn, tagMap(list(input['Tags'])));
        return json({ RuleArn: arn });
      }
      case 'DescribeRule': {
        const rule = this.rule(str(input, 'Name') ?? '');
        const { Tags: _t, ...rest } = rule.request;
        return json({
          ...rest,
          Name: rule.name,
          Arn: rule.arn,
          State: rest['State'] ?? 'ENABLED',
          EventBusName: 'default',
        });
      }
      case 'DeleteRule': {
        const rule = this.rules.get(str(input, 'Name') ?? '');
        if (rule === undefined) return json({});
        if (rule.targets.size > 0)
          throw new AwsError('ValidationException', "Rule can't be deleted since it has targets.");
        this.rules.delete(rule.name);
        this.tags.delete(rule.arn);
        return json({});
      }
      case 'ListRules': {
        const prefix = str(input, 'NamePrefix') ?? '';
        return json({
          Rules: [...this.rules.values()]
            .filter((r) => r.name.startsWith(prefix))
            .map((r) => ({
              Name: r.name,
              Arn: r.arn,
              EventPattern: r.request['EventPattern'],
              State: r.request['State'] ?? 'ENABLED',
            })),
        });
      }
      case 'PutTargets': {
        const rule = this.rule(str(input, 'Rule') ?? '');
        for (const target of list(input['Targets']).map(obj)) rule.targets.set(String(target['Id']), target);
        return json({ FailedEntryCount: 0, FailedEntries: [] });
      }
      case 'RemoveTargets': {
        const rule = this.rule(str(input, 'Rule') ?? '');
        for (const id of list(input['Ids'])) rule.targets.delete(String(id));
        return json({ FailedEntryCount: 0, FailedEntries: [] });
      }
      case 'ListTargetsByRule':
        return json({ Targets: [...this.rule(str(input, 'Rule') ?? '').targets.values()] });
      case 'ListTagsForResource':
        return json({
          Tags: Object.entries(this.tagsOf(str(input, 'ResourceARN') ?? '')).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        });
      case 'TagResource':
        Object.assign(this.tagsOf(str(input, 'ResourceARN') ?? ''), tagMap(list(input['Tags'])));
        return json({});
      default:
        throw new AwsError(
          'UnknownOperationException',
          `the emulator does not implement AWSEvents.${ctx.operation}`,
        );
    }
  }

  /** An S3 "Object Created" event, as S3 sends it to EventBridge, matched against every enabled rule. */
  objectCreated(object: S3Object, region = 'us-east-1'): void {
    const event = {
      version: '0',
      source: 'aws.s3',
      'detail-type': 'Object Created',
      account: ACCOUNT_ID,
      region,
      detail: { bucket: { name: object.bucket }, object: { key: object.key, size: object.size } },
    };
    for (const rule of this.rules.values()) {
      if ((rule.request['State'] ?? 'ENABLED') !== 'ENABLED' || rule.request['EventPattern'] === undefined)
        continue;
      if (!matches(JSON.parse(String(rule.request['EventPattern'])) as unknown, event)) continue;
      this.delivered.push({ rule: rule.name, event });
      for (const target of rule.targets.values()) this.deliver(target, event, region);
    }
  }

  private rule(name: string): Rule {
    const rule = this.rules.get(name);
    if (rule === undefined) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist.`);
    return rule;
  }

  private tagsOf(arn: string): Record<string, string> {
    const tags = this.tags.get(arn);
    if (tags === undefined)
      throw new AwsError('ResourceNotFoundException', `Resource ${arn} does not exist.`);
    return tags;
  }
}

/** EventBridge pattern matching: arrays of allowed values, `{prefix}` and `{exists}` filters, nested objects. */
export function matches(pattern: unknown, event: unknown): boolean {
  if (typeof pattern !== 'object' || pattern === null) return false;
  for (const [key, want] of Object.entries(pattern as Record<string, unknown>)) {
    const value = (event as Record<string, unknown> | undefined)?.[key];
    if (Array.isArray(want)) {
      const ok = want.some((w) => {
        if (typeof w === 'object' && w !== null) {
          const filter = w as Record<string, unknown>;
          if (typeof filter['prefix'] === 'string')
            return typeof value === 'string' && value.startsWith(filter['prefix']);
          if (typeof filter['suffix'] === 'string')
            return typeof value === 'string' && value.endsWith(filter['suffix']);
          if (typeof filter['exists'] === 'boolean') return (value !== undefined) === filter['exists'];
          return false;
        }
        return w === value;
      });
      if (!ok) return false;
    } else if (!matches(want, value)) return false;
  }
  return true;
}

function tagMap(tags: unknown[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags.map(obj)) map[String(tag['Key'])] = String(tag['Value'] ?? '');
  return map;
}
