import { describe, expect, it } from 'vitest';

import { JsonArraySplitter } from './json-array-splitter.js';

const SAGEMAKER = [[], ['instances']];

/** Feeds `text` in chunks of `size` bytes; returns the elements and the path found. */
function split(text: string, paths: string[][], size: number, maxElementBytes?: number) {
  const elements: unknown[] = [];
  const splitter = new JsonArraySplitter(paths, (value) => elements.push(value), maxElementBytes);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) splitter.push(bytes.subarray(i, i + size));
  splitter.end();
  return { elements, found: splitter.found };
}

describe('JsonArraySplitter', () => {
  const instances = [
    [5.1, 3.5, 1.4, 0.2],
    { x: [1, 2], k: 'a "quoted" ], [ string' },
    'é€😀',
    null,
    -1e-7,
    [],
  ];

  it('streams the elements of a bare array or of "instances", whatever the chunk size', () => {
    const bodies = [
      JSON.stringify(instances),
      JSON.stringify({ instances }),
      JSON.stringify({ parameters: { instances: [0], nested: [[1]] }, instances, after: { a: [] } }, null, 2),
    ];
    for (const body of bodies) {
      for (const size of [1, 2, 3, 7, 64, 1 << 20]) {
        const { elements, found } = split(body, SAGEMAKER, size);
        expect(elements, `${body} by ${size}`).toEqual(instances);
        expect(found).toEqual(body.startsWith('[') ? [] : ['instances']);
      }
    }
  });

  it('finds a nested path and escaped keys', () => {
    const body = JSON.stringify({
      'in\\"put': 1,
      input_data: { columns: ['a'], index: [0], data: [[1], [2]] },
    });
    expect(split(body, [['instances'], ['input_data', 'data']], 5)).toEqual({
      elements: [[1], [2]],
      found: ['input_data', 'data'],
    });
  });

  it('streams an empty array, and reports no target when there is none', () => {
    expect(split('{"instances": []}', SAGEMAKER, 4)).toEqual({ elements: [], found: ['instances'] });
    expect(split('{"rows": [[1]]}', SAGEMAKER, 4)).toEqual({ elements: [], found: undefined });
    expect(split('{"instances": 5}', SAGEMAKER, 4).found).toBeUndefined();
  });

  it('refuses malformed documents, naming the byte or the instance', () => {
    const bad: [string, RegExp][] = [
      ['[[1,2],[3,4]', /at byte 12: unexpected end of input/],
      ['[[1,2],,[3]]', /at byte 7: unexpected ','/],
      ['[[1,2],]', /at byte 7: unexpected '\]'/],
      ['[1, 2 3]', /in instance 1 .*: /],
      ['{"instances": [1]} x', /at byte 19: unexpected "x" after the end of the value/],
      ['{"instances": [1]]', /at byte 17: unexpected "\]"/],
      ['"text"', /at byte 0: expected a JSON object or array/],
      ['42', /at byte 0: expected a JSON object or array/],
      ['{"instances": ["open', /unexpected end of input/],
    ];
    for (const [body, message] of bad) {
      expect(() => split(body, SAGEMAKER, 3), body).toThrow(message);
    }
  });

  it('bounds the size of one element', () => {
    const body = JSON.stringify([[1, 2, 3], Array.from({ length: 100 }, () => 1)]);
    expect(() => split(body, SAGEMAKER, 16, 64)).toThrow('instance 1 is larger than 64 bytes');
  });
});
