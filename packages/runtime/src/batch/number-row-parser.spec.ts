import { describe, expect, it } from 'vitest';

import { parseCsvNumberRow, parseJsonNumberArray } from './number-row-parser.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

function json(text: string, max = 16): number[] | -1 {
  const out = new Float64Array(max);
  const b = bytes(text);
  const n = parseJsonNumberArray(b, 0, b.length, out, 0, max);
  return n < 0 ? -1 : Array.from(out.subarray(0, n));
}

function csv(text: string, max = 16): number[] | -1 {
  const out = new Float64Array(max);
  const b = bytes(text);
  const n = parseCsvNumberRow(b, 0, b.length, out, 0, max);
  return n < 0 ? -1 : Array.from(out.subarray(0, n));
}

describe('parseJsonNumberArray', () => {
  it('parses flat arrays of numbers exactly like JSON.parse', () => {
    for (const text of [
      '[5.1,3.5,1.4,0.2]',
      ' [ -0.5 , 1e3, 2E-2, 0, -0 ] ',
      '[123456789012345678901234567890]',
      '[0.1234567890123456789, 1.7976931348623157e308, 5e-324, 1e-400, 1e400]',
      '[0.000001, 100000000000000000000000, 9007199254740993, 4.35, 12.0000001]',
      '[]',
    ]) {
      expect(json(text), text).toEqual(JSON.parse(text));
    }
  });

  it('matches JSON.parse on random numbers', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 2000; k++) {
      const values = Array.from({ length: 4 }, () => {
        const v = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
        return random() < 0.5 ? Number(v.toPrecision(1 + Math.floor(random() * 17))) : Math.round(v);
      });
      const text = JSON.stringify(values);
      expect(json(text), text).toEqual(JSON.parse(text));
    }
  });

  it('refuses anything that is not a flat JSON array of numbers', () => {
    for (const text of [
      '[1,2,]',
      '[01]',
      '[1 2]',
      '[+1]',
      '[.5]',
      '[1.]',
      '[1e]',
      '[[1]]',
      '["1"]',
      '{"a":1}',
      '[1]x',
      '[NaN]',
      '[1,2',
      '',
    ]) {
      expect(json(text), text).toBe(-1);
    }
  });

  it('refuses more numbers than fit', () => {
    expect(json('[1,2,3]', 2)).toBe(-1);
    expect(json('[1,2]', 2)).toEqual([1, 2]);
  });
});

describe('parseCsvNumberRow', () => {
  it('parses plain number rows', () => {
    expect(csv('5.1,3.5,1.4,0.2')).toEqual([5.1, 3.5, 1.4, 0.2]);
    expect(csv(' 1 , -2e2,3\r')).toEqual([1, -200, 3]);
  });

  it('leaves unusual fields to the slow path', () => {
    for (const text of ['1,,2', '"1",2', 'a,b', '1,2,', '+1', '.5', '']) expect(csv(text), text).toBe(-1);
  });
});
