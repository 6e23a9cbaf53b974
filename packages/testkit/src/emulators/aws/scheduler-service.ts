import type { Reply } from './aws-http.js';
import { AwsError, restJson } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, epochSeconds, obj, str } from './context.js';

export interface Schedule {
  name: string;
  group: string;
  arn: string;
  created: number;
  request: Record<string, unknown>;
}

/** A target the emulator can start when a schedule fires: `aws-sdk:batch:submitJob` universal targets. */
export type TargetRunner = (arn: string, input: Record<string, unknown>, region: string) => void;

/**
 * EventBridge Scheduler (restJson1, `/schedules/{Name}`): schedules with cron or rate expressions and a
 * target. Schedules do not fire on their own here; `fire(name)` runs the target as the service would.
 */
export class SchedulerService {
  readonly schedules = new Map<string, Schedule>();

  constructor(private readonly run: TargetRunner) {}

  handle(ctx: CallContext): Reply {
    const input = ctx.input;
    const name = ctx.labels['Name'] ?? '';
    const group = str(input, 'GroupName') ?? 'default';
    const key = `${group}/${name}`;
    switch (ctx.operation) {
      case 'CreateSchedule': {
        if (this.schedules.has(key))
          throw new AwsError('ConflictException', `Schedule ${name} already exists.`, 409);
        const arn = `arn:aws:scheduler:${ctx.region}:${ACCOUNT_ID}:schedule/${group}/${name}`;
        this.schedules.set(key, { name, group, arn, created: Date.now(), request: input });
        return restJson({ ScheduleArn: arn });
      }
      case 'UpdateSchedule': {
        const schedule = this.schedule(key, name);
        schedule.request = input;
        return restJson({ ScheduleArn: schedule.arn });
      }
      case 'GetSchedule': {
        const schedule = this.schedule(key, name);
        const { ClientToken: _c, ...rest } = schedule.request;
        return restJson({
          ...rest,
          Name: name,
          GroupName: group,
          Arn: schedule.arn,
          CreationDate: epochSeconds(schedule.created),
          State: rest['State'] ?? 'ENABLED',
        });
      }
      case 'DeleteSchedule':
        this.schedule(key, name);
        this.schedules.delete(key);
        return restJson({});
      case 'ListSchedules': {
        const prefix = ctx.query.get('NamePrefix') ?? '';
        return restJson({
          Schedules: [...this.schedules.values()]
            .filter((s) => s.name.startsWith(prefix))
            .map((s) => ({
              Name: s.name,
              GroupName: s.group,
              Arn: s.arn,
              State: s.request['State'] ?? 'ENABLED',
              Target: { Arn: obj(s.request['Target'])['Arn'] },
            })),
        });
      }
      default:
        throw new AwsError(
          'ValidationException',
          `the emulator does not implement Scheduler ${ctx.operation}`,
        );
    }
  }

  /** Fires a schedule now (the emulator has no clock-driven runs): its target runs with its input. */
  fire(name: string, group = 'default', region = 'us-east-1'): void {
    const schedule = this.schedule(`${group}/${name}`, name);
    const target = obj(schedule.request['Target']);
    const input = JSON.parse(String(target['Input'] ?? '{}')) as Record<string, unknown>;
    this.run(String(target['Arn']), input, region);
  }

  private schedule(key: string, name: string): Schedule {
    const schedule = this.schedules.get(key);
    if (schedule === undefined)
      throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    return schedule;
  }
}
