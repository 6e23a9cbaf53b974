import { ModelportError } from '@modelport/core';

/**
 * A 5-field cron expression (minute hour day-of-month month day-of-week, UTC) as EventBridge writes it:
 * `cron(m h dom mon dow year)`, where one of the two day fields must be `?` and days of the week count
 * from 1 (Sunday) instead of 0.
 */
export function toAwsCron(expression: string): string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new ModelportError('invalidInput', `"${expression}" is not a 5-field cron expression`);
  }
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  let dayOfMonth = dom;
  const dayOfWeek = dow === '*' ? '?' : shiftDays(dow);
  if (dayOfWeek !== '?') {
    if (dom !== '*' && dom !== '?') {
      throw new ModelportError(
        'invalidInput',
        `"${expression}" restricts both the day of the month and of the week`,
        {
          hint: 'EventBridge schedules take one of the two; set the other to *',
        },
      );
    }
    dayOfMonth = '?';
  }
  return `cron(${minute} ${hour} ${dayOfMonth} ${month} ${dayOfWeek} *)`;
}

/** Cron's 0–7 (Sunday = 0 or 7) to EventBridge's 1–7 (Sunday = 1); names pass unchanged. */
function shiftDays(field: string): string {
  return field.replace(/(^|[,-])(\d+)/g, (_, sep: string, day: string) => `${sep}${(Number(day) % 7) + 1}`);
}
