import { ModelportError } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { mapAwsError } from './errors.js';

/** An error shaped as the SDK throws them (ServiceException fields). */
function sdkError(
  name: string,
  message: string,
  status: number,
  fields: Record<string, unknown> = {},
): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-123' },
    $response: { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIA.../...' } },
    ...fields,
  });
}

describe('mapAwsError', () => {
  it.each([
    ['ThrottlingException', 'Rate exceeded', 400, 'throttled', true],
    ['SlowDown', 'Please reduce your request rate.', 503, 'throttled', true],
    ['ValidationException', 'Could not find endpoint "x".', 400, 'notFound', false],
    ['ValidationException', 'Cannot create already existing model "m".', 400, 'conflict', false],
    ['ValidationException', 'Cannot update in-progress endpoint "e".', 400, 'conflict', true],
    ['ValidationException', '1 validation error detected', 400, 'invalidInput', false],
    ['ResourceNotFound', 'no job', 400, 'notFound', false],
    ['NoSuchKey', 'The specified key does not exist.', 404, 'notFound', false],
    ['ResourceLimitExceeded', 'quota', 400, 'quota', false],
    ['ResourceInUse', 'in use', 400, 'conflict', false],
    ['ConflictException', 'conflict', 409, 'conflict', false],
    ['AccessDeniedException', 'denied', 403, 'auth', false],
    ['UnrecognizedClientException', 'bad token', 400, 'auth', false],
    ['InternalFailure', 'oops', 500, 'unavailable', true],
    ['ServiceUnavailable', 'down', 503, 'unavailable', true],
  ] as const)('%s "%s" (HTTP %i) → %s', (name, message, status, kind, retryable) => {
    const mapped = mapAwsError(sdkError(name, message, status), 'do it');
    expect(mapped.kind).toBe(kind);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.message).toBe(`do it: ${message}`);
    expect(mapped.details).toMatchObject({ awsError: name, httpStatus: status, requestId: 'req-123' });
  });

  it("maps a model error to invalidInput with the model's own message", () => {
    const mapped = mapAwsError(
      sdkError('ModelError', 'Received client error (400)', 424, {
        OriginalStatusCode: 400,
        OriginalMessage: 'bad shape',
      }),
      'invoke',
    );
    expect(mapped).toMatchObject({
      kind: 'invalidInput',
      message: 'invoke: the model refused the request (HTTP 400): bad shape',
    });
  });

  it('maps credential and network failures', () => {
    expect(
      mapAwsError(
        Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
        'x',
      ).kind,
    ).toBe('auth');
    expect(
      mapAwsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'x'),
    ).toMatchObject({ kind: 'unavailable', retryable: true });
  });

  it('keeps no raw response (signed headers) in the cause, and passes ModelportErrors through', () => {
    const mapped = mapAwsError(sdkError('ThrottlingException', 'slow', 400), 'x');
    expect(JSON.stringify(Object.entries(mapped.cause as object))).not.toContain('Credential=');
    expect((mapped.cause as Record<string, unknown>)['$response']).toBeUndefined();
    const own = new ModelportError('timeout', 't');
    expect(mapAwsError(own, 'x')).toBe(own);
  });
});
