import { describe, expect, it } from 'vitest';
import { toAwsCron } from './aws-cron.js';

describe('toAwsCron', () => {
  it('writes 5-field cron as EventBridge cron with ? and a year', () => {
    expect(toAwsCron('0 3 * * *')).toBe('cron(0 3 * * ? *)');
    expect(toAwsCron('*/15 * 1 * *')).toBe('cron(*/15 * 1 * ? *)');
  });

  it('counts days of the week from Sunday = 1', () => {
    expect(toAwsCron('30 6 * * 1-5')).toBe('cron(30 6 ? * 2-6 *)');
    expect(toAwsCron('0 0 * * 0,6')).toBe('cron(0 0 ? * 1,7 *)');
    expect(toAwsCron('0 0 * * 7')).toBe('cron(0 0 ? * 1 *)');
    expect(toAwsCron('0 0 * * MON')).toBe('cron(0 0 ? * MON *)');
  });

  it('refuses both day fields at once', () => {
    expect(() => toAwsCron('0 0 1 * 1')).toThrow(/both the day of the month and of the week/);
  });
});
