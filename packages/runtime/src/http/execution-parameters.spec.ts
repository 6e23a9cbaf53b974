import { describe, expect, it } from 'vitest';

import { executionParameters } from './execution-parameters.js';

const MIB = 1024 * 1024;

describe('executionParameters', () => {
  it('advertises MULTI_RECORD, the body limit in MB and a concurrency within the 100 MB budget', () => {
    expect(executionParameters(6 * MIB, 4)).toEqual({
      MaxConcurrentTransforms: 4,
      BatchStrategy: 'MULTI_RECORD',
      MaxPayloadInMB: 6,
    });
    expect(executionParameters(6 * MIB, 64).MaxConcurrentTransforms).toBe(16); // 16 × 6 ≤ 100
    expect(executionParameters(1024 * MIB, 8)).toMatchObject({
      MaxConcurrentTransforms: 1,
      MaxPayloadInMB: 100,
    });
    expect(executionParameters(1024, 2)).toMatchObject({ MaxConcurrentTransforms: 2, MaxPayloadInMB: 1 });
    expect(executionParameters(6 * MIB, 0).MaxConcurrentTransforms).toBe(1);
  });
});
