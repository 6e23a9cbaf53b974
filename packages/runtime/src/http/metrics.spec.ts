import { describe, expect, it } from 'vitest';

import { ServerMetrics } from './metrics.js';

describe('ServerMetrics', () => {
  it('counts by route and code, buckets durations cumulatively, and renders gauges', () => {
    const metrics = new ServerMetrics(['/a', '/b']);
    metrics.observe(0, 200, 0.0004);
    metrics.observe(0, 200, 0.02);
    metrics.observe(0, 418, 100);
    metrics.observe(1, 503, 0.001);
    metrics.error(1, 'unavailable');
    const text = metrics.render(3, false);
    expect(text).toContain('modelport_requests_total{route="/a",code="200"} 2');
    expect(text).toContain('modelport_requests_total{route="/a",code="418"} 1');
    expect(text).toContain('modelport_request_errors_total{route="/b",kind="unavailable"} 1');
    expect(text).toContain('modelport_request_duration_seconds_bucket{route="/a",le="0.0005"} 1');
    expect(text).toContain('modelport_request_duration_seconds_bucket{route="/a",le="0.025"} 2');
    expect(text).toContain('modelport_request_duration_seconds_bucket{route="/a",le="60"} 2');
    expect(text).toContain('modelport_request_duration_seconds_bucket{route="/a",le="+Inf"} 3');
    expect(text).toContain('modelport_request_duration_seconds_count{route="/a"} 3');
    expect(text).toMatch(/modelport_request_duration_seconds_sum\{route="\/a"\} 100\.020/);
    expect(text).toContain('modelport_inflight_requests 3');
    expect(text).toContain('modelport_model_ready 0');
    expect(text.endsWith('\n')).toBe(true);
    expect(metrics.snapshot(0, true).requests).toEqual([
      { route: '/a', code: 200, count: 2 },
      { route: '/a', code: 418, count: 1 },
      { route: '/b', code: 503, count: 1 },
    ]);
  });

  it('escapes label values', () => {
    const metrics = new ServerMetrics(['/a"b\\c']);
    metrics.observe(0, 200, 0.1);
    expect(metrics.render(0, true)).toContain('route="/a\\"b\\\\c"');
  });
});
