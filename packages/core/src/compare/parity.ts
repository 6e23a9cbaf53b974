import { ModelportError } from '../errors.js';
import type { InvokeResponse } from '../ports/provider.js';
import type { LatencyStats } from './stats.js';
import { latencyStats } from './stats.js';
import type { Tolerance, ValueDifference } from './values.js';
import { DEFAULT_TOLERANCE, firstDifference } from './values.js';

/** One of the two deployments under comparison. */
export interface ParitySide {
  /** The manifest file (or a label) it comes from. */
  label: string;
  provider: string;
  name: string;
  invoke(body: Uint8Array): Promise<InvokeResponse>;
}

export interface ParityOptions {
  tolerance?: Tolerance;
  /** Untimed requests to each side first (connections, lazy model loads). Default 1. */
  warmup?: number;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}

export interface ParityCase {
  /** 1-based line of the payload in its file. */
  line: number;
  outcome: 'match' | 'mismatch' | 'error';
  latencyMs: { a?: number; b?: number };
  difference?: ValueDifference;
  error?: string;
}

export interface ParityResult {
  a: { label: string; provider: string; name: string };
  b: { label: string; provider: string; name: string };
  tolerance: Tolerance;
  total: number;
  matched: number;
  mismatched: number;
  errors: number;
  /** Every payload answered by both, and alike. */
  pass: boolean;
  latency: { a: LatencyStats; b: LatencyStats };
  cases: ParityCase[];
  startedAt: string;
  durationMs: number;
}

export interface Payload {
  line: number;
  body: Uint8Array;
}

/**
 * Sends every payload to both deployments and compares the answers. The order alternates (A then B,
 * then B then A) so neither side always gets the warmer caches; latency is the provider's own
 * measurement of each call.
 */
export async function runParity(
  a: ParitySide,
  b: ParitySide,
  payloads: readonly Payload[],
  options: ParityOptions = {},
): Promise<ParityResult> {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const started = Date.now();
  const first = payloads[0];
  for (let i = 0; i < (options.warmup ?? 1) && first !== undefined; i++) {
    await Promise.allSettled([a.invoke(first.body), b.invoke(first.body)]);
  }
  const cases: ParityCase[] = [];
  for (const [i, payload] of payloads.entries()) {
    options.signal?.throwIfAborted();
    const order = i % 2 === 0 ? [a, b] : [b, a];
    const answers = new Map<ParitySide, Answer>();
    for (const side of order) answers.set(side, await ask(side, payload.body));
    cases.push(judge(payload.line, answers.get(a) as Answer, answers.get(b) as Answer, tolerance));
    options.onProgress?.(i + 1, payloads.length);
  }
  const count = (o: ParityCase['outcome']): number => cases.filter((c) => c.outcome === o).length;
  const latencies = (k: 'a' | 'b'): number[] =>
    cases.flatMap((c) => (c.latencyMs[k] === undefined ? [] : [c.latencyMs[k]]));
  return {
    a: { label: a.label, provider: a.provider, name: a.name },
    b: { label: b.label, provider: b.provider, name: b.name },
    tolerance,
    total: cases.length,
    matched: count('match'),
    mismatched: count('mismatch'),
    errors: count('error'),
    pass: cases.length > 0 && count('match') === cases.length,
    latency: { a: latencyStats(latencies('a')), b: latencyStats(latencies('b')) },
    cases,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  };
}

type Answer =
  { ok: true; value: unknown; latencyMs: number } | { ok: false; error: string; latencyMs?: number };

async function ask(side: ParitySide, body: Uint8Array): Promise<Answer> {
  try {
    const response = await side.invoke(body);
    const text = Buffer.from(response.body).toString('utf8');
    if (response.status >= 400) {
      return {
        ok: false,
        error: `${side.provider}: HTTP ${response.status}: ${text.slice(0, 200)}`,
        latencyMs: response.latencyMs,
      };
    }
    try {
      return { ok: true, value: JSON.parse(text) as unknown, latencyMs: response.latencyMs };
    } catch {
      return { ok: true, value: text, latencyMs: response.latencyMs };
    }
  } catch (error) {
    return { ok: false, error: `${side.provider}: ${(error as Error).message}` };
  }
}

function judge(line: number, a: Answer, b: Answer, tolerance: Tolerance): ParityCase {
  const latencyMs = {
    ...(a.latencyMs === undefined ? {} : { a: a.latencyMs }),
    ...(b.latencyMs === undefined ? {} : { b: b.latencyMs }),
  };
  if (!a.ok || !b.ok) {
    const error = [a, b].flatMap((x) => (x.ok ? [] : [x.error])).join('; ');
    return { line, outcome: 'error', latencyMs, error };
  }
  const difference = firstDifference(a.value, b.value, tolerance);
  return difference === undefined
    ? { line, outcome: 'match', latencyMs }
    : { line, outcome: 'mismatch', latencyMs, difference };
}

/** Payloads of a JSON Lines file: one request body per non-empty line, each valid JSON. */
export function parsePayloads(text: string, file: string): Payload[] {
  const payloads: Payload[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    try {
      JSON.parse(line);
    } catch (error) {
      throw new ModelportError('invalidInput', `${file}:${i + 1}: not JSON: ${(error as Error).message}`, {
        hint: 'one JSON request body per line (JSON Lines)',
      });
    }
    payloads.push({ line: i + 1, body: Buffer.from(line) });
  }
  if (payloads.length === 0) {
    throw new ModelportError('invalidInput', `${file}: no payloads`, {
      hint: 'one JSON request body per line (JSON Lines)',
    });
  }
  return payloads;
}
