// How the emulated Batch Transform cuts an input object into records and mini-batches (SplitType Line,
// BatchStrategy, MaxPayloadInMB): https://docs.aws.amazon.com/sagemaker/latest/dg/API_CreateTransformJob.html
import { describe, expect, it } from 'vitest';
import { lines, miniBatches } from './transform-runner.js';

const text = (b: Buffer): string => b.toString('utf8');

describe('SplitType Line', () => {
  it('one record per line, without the line break (CRLF too), blank lines dropped', () => {
    expect(lines(Buffer.from('a\r\nbb\n\nccc')).map(text)).toEqual(['a', 'bb', 'ccc']);
  });
});

describe('mini-batches', () => {
  const records = ['aaaa', 'bbbb', 'cccc', 'dddd'].map((r) => Buffer.from(r));

  it('MultiRecord packs as many records as fit in MaxPayloadInMB, joined by line breaks', () => {
    // 4 + 1 + 4 = 9 bytes fit in 10, a third record would not.
    const batches = miniBatches(records, Infinity, 10, 'k');
    expect(batches.map((b) => text(b.body))).toEqual(['aaaa\nbbbb', 'cccc\ndddd']);
    expect(batches.map((b) => [b.first, b.last])).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('SingleRecord sends one record per request', () => {
    expect(miniBatches(records, 1, 1024, 'k').map((b) => text(b.body))).toEqual([
      'aaaa',
      'bbbb',
      'cccc',
      'dddd',
    ]);
  });

  it('a record above MaxPayloadInMB fails the job', () => {
    expect(() => miniBatches([Buffer.alloc(20)], Infinity, 10, 'in/big.jsonl')).toThrow(
      /record 1 of in\/big\.jsonl has 20 bytes, above MaxPayloadInMB/,
    );
  });
});
