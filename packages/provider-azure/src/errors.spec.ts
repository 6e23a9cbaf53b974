import { ModelportError } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { mapAzureError } from './errors.js';
import { scoringErrorKind } from './invoke.js';

describe('mapAzureError', () => {
  it('maps ARM statuses and codes to error kinds', () => {
    const cases: [Record<string, unknown>, string, boolean][] = [
      [{ statusCode: 429, code: 'TooManyRequests', message: 'slow down' }, 'throttled', true],
      [{ statusCode: 404, code: 'ResourceNotFound' }, 'notFound', false],
      [{ statusCode: 403, code: 'AuthorizationFailed' }, 'auth', false],
      [{ statusCode: 409, code: 'Conflict' }, 'conflict', false],
      [{ statusCode: 400, code: 'QuotaExceeded' }, 'quota', false],
      [{ statusCode: 400, code: 'UserError' }, 'invalidInput', false],
      [{ statusCode: 503 }, 'unavailable', true],
      [{ name: 'AbortError', message: 'aborted' }, 'timeout', true],
    ];
    for (const [error, kind, retryable] of cases) {
      const mapped = mapAzureError(error, 'call');
      expect(mapped.kind, JSON.stringify(error)).toBe(kind);
      expect(mapped.retryable, JSON.stringify(error)).toBe(retryable);
    }
  });

  it('a failed long-running operation is not retried, and keeps its code and reason', () => {
    const quota = mapAzureError(
      new Error('The long-running operation has failed. QuotaExceeded. not enough quota'),
      'deployment d1',
    );
    expect(quota.kind).toBe('quota');
    expect(quota.retryable).toBe(false);
    expect(quota.message).toMatch(/deployment d1: .*not enough quota/);
    const failed = mapAzureError(
      new Error('The long-running operation has failed. DeploymentFailed. crashed'),
      'x',
    );
    expect(failed.kind).toBe('unavailable');
    expect(failed.retryable).toBe(false);
  });

  it('never carries the request (and its Authorization header) into the error', () => {
    const error = Object.assign(new Error('denied'), {
      statusCode: 401,
      request: { headers: { authorization: 'Bearer secret-token' } },
    });
    const mapped = mapAzureError(error, 'call');
    expect(JSON.stringify(mapped.toJSON())).not.toContain('secret-token');
    expect(JSON.stringify(mapped.cause)).not.toContain('secret-token');
  });

  it('passes ModelportErrors through', () => {
    const own = new ModelportError('capability', 'no');
    expect(mapAzureError(own, 'x')).toBe(own);
  });
});

describe('scoringErrorKind', () => {
  it('maps the answers Azure documents for scoring', () => {
    expect(scoringErrorKind(408)).toBe('timeout');
    expect(scoringErrorKind(424)).toBe('unavailable');
    expect(scoringErrorKind(429)).toBe('throttled');
    expect(scoringErrorKind(401)).toBe('auth');
    expect(scoringErrorKind(400)).toBe('invalidInput');
    expect(scoringErrorKind(502)).toBe('unavailable');
  });
});
