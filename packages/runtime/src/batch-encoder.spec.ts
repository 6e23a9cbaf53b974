import { describe, expect, it } from 'vitest';

import { BatchEncoder, isBatchable, RaggedRowError } from './batch-encoder.js';
import { fromFloat16Bits } from './float16.js';
import type { TensorSpec } from './signature.js';

const feeds = (encoder: BatchEncoder) =>
  Object.fromEntries(
    Object.entries(encoder.toFeeds()).map(([name, t]) => [
      name,
      { type: t.type, dims: t.dims, data: Array.from(t.data as ArrayLike<unknown>) },
    ]),
  );

describe('BatchEncoder', () => {
  it('stacks rows of several dtypes into one tensor per input', () => {
    const inputs: TensorSpec[] = [
      { name: 'f', dtype: 'float64', shape: [-1, 2] },
      { name: 'i', dtype: 'int64', shape: [-1] },
      { name: 'b', dtype: 'bool', shape: [-1, 1] },
      { name: 's', dtype: 'string', shape: [-1] },
      { name: 'u', dtype: 'uint8', shape: [-1, 2] },
    ];
    const encoder = new BatchEncoder(inputs, 2);
    encoder.add({ f: [0.5, 1], i: 3, b: [true], s: 'x', u: [0, 255] });
    encoder.add({ f: [2, 3], i: '-9007199254740993', b: 0, s: 'y', u: [1, 2] });
    expect(feeds(encoder)).toEqual({
      f: { type: 'float64', dims: [2, 2], data: [0.5, 1, 2, 3] },
      i: { type: 'int64', dims: [2], data: [3n, -9007199254740993n] },
      b: { type: 'bool', dims: [2, 1], data: [1, 0] },
      s: { type: 'string', dims: [2], data: ['x', 'y'] },
      u: { type: 'uint8', dims: [2, 2], data: [0, 255, 1, 2] },
    });
  });

  it('checks integer ranges and booleans', () => {
    const encoder = new BatchEncoder([{ name: 'u', dtype: 'uint8', shape: [-1] }], 4);
    expect(() => encoder.add(256)).toThrow('input "u" expects uint8 integers (0..255), got number 256');
    expect(() => encoder.add(-1)).toThrow(/uint8 integers/);
    expect(() => encoder.add(1.5)).toThrow(/uint8 integers/);
    const bools = new BatchEncoder([{ name: 'b', dtype: 'bool', shape: [-1] }], 1);
    expect(() => bools.add('true')).toThrow(
      'input "b" expects booleans (true/false, or 0/1), got string "true"',
    );
    const big = new BatchEncoder([{ name: 'i', dtype: 'int64', shape: [-1] }], 1);
    expect(() => big.add(2 ** 60)).toThrow(/int64 integers/); // unsafe as a JSON number: send a string
    expect(() => big.add('9223372036854775808')).toThrow(/int64 integers/);
  });

  it('stores float16 as half bits', () => {
    const encoder = new BatchEncoder([{ name: 'h', dtype: 'float16', shape: [-1, 2] }], 1);
    encoder.add([1.5, -0.25]);
    const data = encoder.toFeeds()['h']?.data as Uint16Array;
    expect(Array.from(data, fromFloat16Bits)).toEqual([1.5, -0.25]);
  });

  it('takes nested rows, or flat rows of the right size', () => {
    const encoder = new BatchEncoder([{ name: 'x', dtype: 'float32', shape: [-1, 2, 3] }], 2);
    encoder.add([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    encoder.add([7, 8, 9, 10, 11, 12]);
    expect(feeds(encoder)['x']).toEqual({
      type: 'float32',
      dims: [2, 2, 3],
      data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    });
    encoder.reset();
    expect(() =>
      encoder.add([
        [1, 2, 3],
        [4, 5],
      ]),
    ).toThrow('expected 3 values at [1] for input "x" (shape [-1,2,3]), got 2');
    expect(() => encoder.add([1, 2, 3])).toThrow('expected 2 values for input "x" (shape [-1,2,3]), got 3');
  });

  it('fixes variable dims by the first row, reports ragged rows, and forgets dims on reset', () => {
    const encoder = new BatchEncoder([{ name: 'x', dtype: 'float32', shape: [-1, -1] }], 3);
    expect(() => encoder.add('nope')).toThrow(/expected nested arrays of rank 1/);
    encoder.add([1, 2, 3]);
    expect(() => encoder.add([1, 2])).toThrow(RaggedRowError);
    encoder.reset();
    encoder.add([1, 2]);
    expect(feeds(encoder)['x']?.dims).toEqual([1, 2]);
  });

  it('leaves no trace of a multi-input instance that fails half-way', () => {
    const encoder = new BatchEncoder(
      [
        { name: 'a', dtype: 'float32', shape: [-1, -1] },
        { name: 'b', dtype: 'int32', shape: [-1] },
      ],
      2,
    );
    expect(() => encoder.add({ a: [1, 2, 3], b: 'x' })).toThrow(/input "b" expects int32/);
    expect(encoder.count).toBe(0);
    encoder.add({ a: [1, 2], b: 7 }); // the failed row's width (3) must not stick
    expect(feeds(encoder)).toEqual({
      a: { type: 'float32', dims: [1, 2], data: [1, 2] },
      b: { type: 'int32', dims: [1], data: [7] },
    });
  });

  it('grows with reserve and drops rows with truncate', () => {
    const encoder = new BatchEncoder([{ name: 'x', dtype: 'float32', shape: [-1, 2] }], 1);
    encoder.add([1, 2]);
    encoder.reserve(3);
    expect(encoder.capacity).toBeGreaterThanOrEqual(4);
    encoder.add([3, 4]);
    encoder.add([5, 6]);
    encoder.truncate(2);
    encoder.add([7, 8]);
    expect(feeds(encoder)['x']?.data).toEqual([1, 2, 3, 4, 7, 8]);
  });

  it('tells batchable signatures from fixed-shape ones', () => {
    expect(
      isBatchable([
        { name: 'x', dtype: 'float32', shape: [-1, 4] },
        { name: 'y', dtype: 'int64' },
      ]),
    ).toBe(true);
    expect(isBatchable([{ name: 'x', dtype: 'float32', shape: [1, 4] }])).toBe(false);
    expect(isBatchable([{ name: 'x', dtype: 'float32', shape: [] }])).toBe(false);
  });
});
