import { describe, expect, it } from 'vitest';

import { checkSignature, specsFromMetadata } from './signature.js';

describe('specsFromMetadata', () => {
  it('maps symbolic dims to -1, leaves out undeclared shapes and non-tensors', () => {
    expect(
      specsFromMetadata([
        { name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4] },
        { name: 'y', isTensor: true, type: 'int64', shape: [] },
        { name: 'map', isTensor: false },
      ]),
    ).toEqual([
      { name: 'x', dtype: 'float32', shape: [-1, 4] },
      { name: 'y', dtype: 'int64' },
    ]);
    expect(() => specsFromMetadata([{ name: 'q', isTensor: true, type: 'uint4', shape: [] }])).toThrow(
      /dtype uint4/,
    );
  });
});

describe('checkSignature', () => {
  const model = [{ name: 'x', dtype: 'float32' as const, shape: [-1, 4] }];
  it('accepts a consistent signature, declaring more specific dims', () => {
    expect(() =>
      checkSignature({ inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }] }, model, []),
    ).not.toThrow();
    expect(() =>
      checkSignature({ inputs: [{ name: 'x', dtype: 'float32', shape: [8, 4] }] }, model, []),
    ).not.toThrow();
  });

  it('rejects malformed or inconsistent signatures', () => {
    expect(() => checkSignature({ inputs: [] }, model, [])).toThrow(
      'signature.inputs must be a non-empty array',
    );
    expect(() => checkSignature({ inputs: [{ name: 'x', dtype: 'float' as never }] }, model, [])).toThrow(
      /dtype must be one of/,
    );
    expect(() =>
      checkSignature({ inputs: [{ name: 'x', dtype: 'float32', shape: [-2] }] }, model, []),
    ).toThrow(/integers >= -1/);
    expect(() =>
      checkSignature(
        {
          inputs: [
            { name: 'x', dtype: 'float32' },
            { name: 'x', dtype: 'float32' },
          ],
        },
        undefined,
        undefined,
      ),
    ).toThrow(/names "x" twice/);
    const two = [...model, { name: 'k', dtype: 'int64' as const }];
    expect(() => checkSignature({ inputs: [{ name: 'x', dtype: 'float32' }] }, two, [])).toThrow(
      'signature leaves out model input(s) "k"; every input must be declared',
    );
  });
});
