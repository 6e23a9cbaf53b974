import { describe, expect, it } from 'vitest';

import { LineSplitter } from './line-splitter.js';

function lines(text: string, size: number, maxLineBytes?: number): [string, number][] {
  const out: [string, number][] = [];
  const splitter = new LineSplitter((line, n) => out.push([line, n]), maxLineBytes);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) splitter.push(bytes.subarray(i, i + size));
  splitter.end();
  return out;
}

describe('LineSplitter', () => {
  it('cuts lines at \\n or \\r\\n across chunk boundaries, numbering them, skipping blank ones', () => {
    const text = '[1,2]\r\n\n  \t\n{"s":"é€😀"}\n3,4';
    for (const size of [1, 2, 5, 1024]) {
      expect(lines(text, size), `by ${size}`).toEqual([
        ['[1,2]', 1],
        ['{"s":"é€😀"}', 4],
        ['3,4', 5],
      ]);
    }
    expect(lines('a\n', 1)).toEqual([['a', 1]]);
    expect(lines('', 1)).toEqual([]);
  });

  it('bounds the length of one line', () => {
    expect(() => lines('short\n' + 'x'.repeat(100), 10, 64)).toThrow('line 2 is longer than 64 bytes');
  });
});
