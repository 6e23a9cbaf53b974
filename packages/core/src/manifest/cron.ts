// Five-field cron (minute hour day-of-month month day-of-week), the subset every scheduler we target
// (EventBridge Scheduler, Azure, Cloud Scheduler, Kubernetes CronJob) understands.
const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

/** Undefined when valid, else what is wrong. */
export function validateCron(expression: string): string | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) return `expected 5 fields, found ${parts.length}`;
  for (let i = 0; i < 5; i++) {
    const field = FIELDS[i];
    const part = parts[i];
    if (field === undefined || part === undefined) continue;
    for (const item of part.split(',')) {
      const error = checkItem(item, field);
      if (error !== undefined) return `${field.name} "${part}": ${error}`;
    }
  }
  return undefined;
}

function checkItem(item: string, field: (typeof FIELDS)[number]): string | undefined {
  const [range, step, extra] = item.split('/');
  if (extra !== undefined || range === undefined || range === '') return 'malformed';
  if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `step "${step}" is not a positive number`;
  if (range === '*') return undefined;
  const bounds = range.split('-');
  if (bounds.length > 2) return 'malformed range';
  const values = bounds.map((b) => toNumber(b, field));
  for (const [index, value] of values.entries()) {
    if (value === undefined) return `"${bounds[index]}" is not a number`;
    if (value < field.min || value > field.max) return `${value} is outside ${field.min}-${field.max}`;
  }
  const [low, high] = values;
  if (low !== undefined && high !== undefined && low > high) return `range ${low}-${high} runs backwards`;
  return undefined;
}

function toNumber(text: string, field: (typeof FIELDS)[number]): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  if ('names' in field) {
    const index = (field.names as readonly string[]).indexOf(text.toUpperCase());
    if (index >= 0) return index + field.min;
  }
  return undefined;
}
