import type { RequestErrorCode } from '../errors.js';

/** Seconds; spans sub-millisecond inference up to the 60 s request timeout. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const ERROR_KINDS: readonly RequestErrorCode[] = [
  'invalid_input',
  'malformed_json',
  'not_found',
  'method_not_allowed',
  'not_acceptable',
  'payload_too_large',
  'unsupported_media_type',
  'unavailable',
  'timeout',
  'internal',
];
const MAX_CODES = 32;

export interface MetricsSnapshot {
  requests: { route: string; code: number; count: number }[];
  errors: { route: string; kind: string; count: number }[];
  inflight: number;
  ready: boolean;
}

/**
 * Prometheus counters for the request path. Everything is preallocated and indexed by route number, so
 * recording a request costs a few array writes; label strings are built only when scraped.
 */
export class ServerMetrics {
  private readonly codeSlot = new Int8Array(600).fill(-1);
  private readonly codes: number[] = [];
  private readonly requests: Float64Array;
  private readonly errors: Float64Array;
  private readonly buckets: Float64Array;
  private readonly sums: Float64Array;
  private readonly counts: Float64Array;
  private readonly errorKindIndex = new Map<string, number>(ERROR_KINDS.map((k, i) => [k, i]));

  constructor(readonly routes: readonly string[]) {
    const n = routes.length;
    this.requests = new Float64Array(n * MAX_CODES);
    this.errors = new Float64Array(n * ERROR_KINDS.length);
    this.buckets = new Float64Array(n * DURATION_BUCKETS.length);
    this.sums = new Float64Array(n);
    this.counts = new Float64Array(n);
    for (const code of [200, 400, 404, 405, 406, 413, 415, 500, 503, 504]) this.slotFor(code);
  }

  observe(route: number, status: number, seconds: number): void {
    const slot = this.slotFor(status);
    if (slot >= 0) add(this.requests, route * MAX_CODES + slot, 1);
    add(this.sums, route, seconds);
    add(this.counts, route, 1);
    const base = route * DURATION_BUCKETS.length;
    for (let b = 0; b < DURATION_BUCKETS.length; b++) {
      if (seconds <= (DURATION_BUCKETS[b] as number)) {
        add(this.buckets, base + b, 1);
        break;
      }
    }
  }

  error(route: number, kind: RequestErrorCode): void {
    const k = this.errorKindIndex.get(kind) ?? ERROR_KINDS.indexOf('internal');
    add(this.errors, route * ERROR_KINDS.length + k, 1);
  }

  snapshot(inflight: number, ready: boolean): MetricsSnapshot {
    const requests: MetricsSnapshot['requests'] = [];
    const errors: MetricsSnapshot['errors'] = [];
    this.routes.forEach((route, r) => {
      this.codes.forEach((code, s) => {
        const count = this.requests[r * MAX_CODES + s] ?? 0;
        if (count > 0) requests.push({ route, code, count });
      });
      ERROR_KINDS.forEach((kind, k) => {
        const count = this.errors[r * ERROR_KINDS.length + k] ?? 0;
        if (count > 0) errors.push({ route, kind, count });
      });
    });
    return { requests, errors, inflight, ready };
  }

  /** Text exposition format 0.0.4. Series that never moved are left out, except the gauges. */
  render(inflight: number, ready: boolean): string {
    const out: string[] = [];
    const snap = this.snapshot(inflight, ready);
    out.push('# HELP modelport_requests_total HTTP requests served, by route and status code.');
    out.push('# TYPE modelport_requests_total counter');
    for (const r of snap.requests)
      out.push(`modelport_requests_total{route="${esc(r.route)}",code="${r.code}"} ${r.count}`);
    out.push('# HELP modelport_request_errors_total Failed requests, by route and error kind.');
    out.push('# TYPE modelport_request_errors_total counter');
    for (const e of snap.errors)
      out.push(`modelport_request_errors_total{route="${esc(e.route)}",kind="${e.kind}"} ${e.count}`);
    out.push('# HELP modelport_request_duration_seconds Time from request start to the end of the response.');
    out.push('# TYPE modelport_request_duration_seconds histogram');
    this.routes.forEach((route, r) => {
      const count = this.counts[r] ?? 0;
      if (count === 0) return;
      const label = `route="${esc(route)}"`;
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, b) => {
        cumulative += this.buckets[r * DURATION_BUCKETS.length + b] ?? 0;
        out.push(`modelport_request_duration_seconds_bucket{${label},le="${le}"} ${cumulative}`);
      });
      out.push(`modelport_request_duration_seconds_bucket{${label},le="+Inf"} ${count}`);
      out.push(`modelport_request_duration_seconds_sum{${label}} ${this.sums[r] ?? 0}`);
      out.push(`modelport_request_duration_seconds_count{${label}} ${count}`);
    });
    out.push('# HELP modelport_inflight_requests Requests being served now.');
    out.push('# TYPE modelport_inflight_requests gauge');
    out.push(`modelport_inflight_requests ${inflight}`);
    out.push('# HELP modelport_model_ready 1 when the model is loaded and the server takes requests.');
    out.push('# TYPE modelport_model_ready gauge');
    out.push(`modelport_model_ready ${ready ? 1 : 0}`);
    return `${out.join('\n')}\n`;
  }

  private slotFor(status: number): number {
    if (status < 0 || status >= 600) return -1;
    let slot = this.codeSlot[status] as number;
    if (slot === -1 && this.codes.length < MAX_CODES) {
      slot = this.codes.length;
      this.codes.push(status);
      this.codeSlot[status] = slot;
    }
    return slot;
  }
}

function add(counters: Float64Array, index: number, by: number): void {
  counters[index] = (counters[index] as number) + by;
}

function esc(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
