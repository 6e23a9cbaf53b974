export interface LatencyStats {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

export function latencyStats(values: readonly number[]): LatencyStats {
  const sorted = [...values].sort((x, y) => x - y);
  const round = (v: number): number => Math.round(v * 100) / 100;
  return {
    count: sorted.length,
    minMs: round(sorted[0] ?? 0),
    meanMs: round(sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length)),
    p50Ms: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}
