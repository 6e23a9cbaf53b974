import { ModelportError } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { Code, call, mapGcpError } from './errors.js';

const grpcError = (code: number, details: string) =>
  Object.assign(new Error(`${code} X: ${details}`), { code, details });

describe('GCP errors', () => {
  it('maps gRPC codes to kinds; UNAVAILABLE and RESOURCE_EXHAUSTED are retryable', () => {
    expect(mapGcpError(grpcError(Code.UNAVAILABLE, 'down'), 'get model')).toMatchObject({
      kind: 'unavailable',
      retryable: true,
      message: 'get model: down',
    });
    expect(mapGcpError(grpcError(Code.RESOURCE_EXHAUSTED, 'quota'), 'deploy')).toMatchObject({
      kind: 'throttled',
      retryable: true,
    });
    expect(mapGcpError(grpcError(Code.INVALID_ARGUMENT, 'bad'), 'x')).toMatchObject({
      kind: 'invalidInput',
      retryable: false,
    });
    expect(mapGcpError(grpcError(Code.NOT_FOUND, 'gone'), 'x')).toMatchObject({ kind: 'notFound' });
    expect(mapGcpError(grpcError(Code.UNAUTHENTICATED, 'no'), 'x').hint).toMatch(/application-default/);
    expect(mapGcpError(Object.assign(new Error('Not Found'), { code: 404 }), 'download')).toMatchObject({
      kind: 'notFound',
    });
  });

  it('retries reads on retryable errors, never writes', async () => {
    let reads = 0;
    await expect(
      call(
        'read',
        async () => (++reads < 3 ? Promise.reject(grpcError(Code.UNAVAILABLE, 'down')) : 'ok'),
        true,
      ),
    ).resolves.toBe('ok');
    let writes = 0;
    const error = await call('write', async () => {
      writes++;
      throw grpcError(Code.UNAVAILABLE, 'down');
    }).catch((e: unknown) => e);
    expect(ModelportError.is(error, 'unavailable')).toBe(true);
    expect(writes).toBe(1);
  });
});
