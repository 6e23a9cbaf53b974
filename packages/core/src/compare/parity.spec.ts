import { describe, expect, it } from 'vitest';
import type { InvokeResponse } from '../ports/provider.js';
import type { ParitySide } from './parity.js';
import { parsePayloads, runParity } from './parity.js';
import { percentile } from './stats.js';
import { DEFAULT_TOLERANCE, firstDifference } from './values.js';

describe('firstDifference', () => {
  it('compares labels exactly and scores within the tolerance', () => {
    expect(firstDifference({ label: [0, 2] }, { label: [0, 2] }, DEFAULT_TOLERANCE)).toBeUndefined();
    expect(firstDifference({ label: [0, 2] }, { label: [0, 1] }, DEFAULT_TOLERANCE)).toMatchObject({
      path: '$.label[1]',
      reason: 'labels differ',
    });
    expect(firstDifference([0.1234567], [0.1234568], DEFAULT_TOLERANCE)).toBeUndefined();
    expect(firstDifference([0.12], [0.13], DEFAULT_TOLERANCE)?.reason).toMatch(/scores differ by 0\.0100/);
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 }, DEFAULT_TOLERANCE)?.reason).toBe(
      'field missing on one side',
    );
    expect(firstDifference([1, 2], [1], DEFAULT_TOLERANCE)?.reason).toBe('lists of different lengths');
    expect(firstDifference('setosa', 'virginica', DEFAULT_TOLERANCE)?.reason).toBe('values differ');
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([50, 99, 100]);
    expect(percentile([], 50)).toBe(0);
  });
});

function side(
  provider: string,
  answer: (body: string) => { status: number; body: unknown },
): ParitySide & { calls: string[] } {
  const calls: string[] = [];
  return {
    label: `${provider}.yaml`,
    provider,
    name: 'iris',
    calls,
    invoke: async (body: Uint8Array): Promise<InvokeResponse> => {
      const text = Buffer.from(body).toString('utf8');
      calls.push(text);
      const { status, body: out } = answer(text);
      return {
        status,
        body: Buffer.from(JSON.stringify(out)),
        contentType: 'application/json',
        latencyMs: 1 + calls.length,
      };
    },
  };
}

describe('runParity', () => {
  const payloads = parsePayloads('{"x":1}\n\n{"x":2}\n{"x":3}\n', 'p.jsonl');

  it('passes when every answer matches, alternating which side goes first', async () => {
    const a = side('aws', (b) => ({ status: 200, body: { y: JSON.parse(b).x } }));
    const b = side('gcp', (b) => ({ status: 200, body: { y: JSON.parse(b).x } }));
    const result = await runParity(a, b, payloads, { warmup: 0 });
    expect(result).toMatchObject({ total: 3, matched: 3, pass: true });
    expect(result.cases.map((c) => c.line)).toEqual([1, 3, 4]);
    expect(result.latency.a.count).toBe(3);
  });

  it('fails on a mismatch or an error and says which payload line', async () => {
    const a = side('aws', (b) => ({ status: 200, body: { y: JSON.parse(b).x } }));
    const b = side('gcp', (b) =>
      JSON.parse(b).x === 2
        ? { status: 500, body: 'boom' }
        : { status: 200, body: { y: JSON.parse(b).x === 3 ? 9 : 1 } },
    );
    const result = await runParity(a, b, payloads, { warmup: 0 });
    expect(result.pass).toBe(false);
    expect(result.cases.map((c) => [c.line, c.outcome])).toEqual([
      [1, 'match'],
      [3, 'error'],
      [4, 'mismatch'],
    ]);
    expect(result.cases[1]?.error).toMatch(/gcp: HTTP 500/);
  });

  it('refuses a payload file that is not JSON Lines, naming the line', () => {
    expect(() => parsePayloads('{"x":1}\nnot json\n', 'p.jsonl')).toThrow(/p\.jsonl:2: not JSON/);
    expect(() => parsePayloads('\n\n', 'p.jsonl')).toThrow(/no payloads/);
  });
});
