import { describe, expect, it } from 'vitest';
import { validateCron } from './cron.js';

describe('validateCron', () => {
  it.each(['0 3 * * *', '*/15 * * * *', '0 0 1 JAN MON-FRI', '5,10 1-5 * * 0'])('accepts %s', (expr) => {
    expect(validateCron(expr)).toBeUndefined();
  });
  it.each([
    ['0 25 * * *', /hour.*25 is outside 0-23/],
    ['* * *', /expected 5 fields/],
    ['0 3 * * MOON', /"MOON" is not a number/],
    ['*/0 * * * *', /step/],
    ['5-1 * * * *', /backwards/],
  ])('rejects %s', (expr, message) => {
    expect(validateCron(expr)).toMatch(message);
  });
});
