import { describe, expect, it } from 'vitest';

import { formatCsvPredictions, isCsvHeader, parseCsvBody, parseCsvLine } from './csv.js';

describe('csv', () => {
  it('parses lines of numbers, skipping blank lines and CR', () => {
    expect(parseCsvBody('1,2.5,-3e2\r\n\n 4 , "5", .5\n')).toEqual([
      [1, 2.5, -300],
      [4, 5, 0.5],
    ]);
  });

  it('names the line and column of a cell that is not a number', () => {
    expect(() => parseCsvBody('1,2\n3,,4')).toThrow('line 2, column 2: "" is not a number');
    expect(() => parseCsvBody('a,b\n1,2')).toThrow(
      'line 1, column 1: "a" is not a number (CSV requests take rows of numbers, without a header)',
    );
    expect(() => parseCsvLine('1,0x10')).toThrow('column 2: "0x10" is not a number');
  });

  it('detects a header row', () => {
    expect(isCsvHeader('sepal_length,sepal_width')).toBe(true);
    expect(isCsvHeader('5.1,3.5')).toBe(false);
  });

  it('flattens each prediction into one CSV line', () => {
    expect(formatCsvPredictions([{ p: [0.25, 0.75], label: 1 }, [1, 2], 3, { s: 'a,"b"', ok: true }])).toBe(
      '0.25,0.75,1\n1,2\n3\n"a,""b""",true\n',
    );
  });
});
