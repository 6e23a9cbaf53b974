import { describe, expect, it } from 'vitest';
import { asyncId, parseAsyncId } from './invoke.js';

describe('async request ids', () => {
  it('carry the endpoint, the region and both S3 locations, with no "/" in the request part', () => {
    const id = asyncId('iris', 'eu-west-1', 's3://b/out/x.out', 's3://b/fail/x-error.out');
    expect(id.split('/')).toHaveLength(3);
    expect(parseAsyncId(id)).toEqual({
      endpoint: 'iris',
      region: 'eu-west-1',
      output: 's3://b/out/x.out',
      failure: 's3://b/fail/x-error.out',
    });
  });

  it('refuse ids of other providers or damaged ones', () => {
    expect(() => parseAsyncId('local/iris/123')).toThrow(/not an AWS async request id/);
    expect(() => parseAsyncId('aws/iris/us-east-1~notbase64json')).toThrow(/not an AWS async request id/);
  });
});
