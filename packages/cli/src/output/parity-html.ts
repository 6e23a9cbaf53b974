import type { ParityCase, ParityResult } from '@modelport/core';

// The parity report is one self-contained HTML file (no scripts, no network): charts are inline SVG
// drawn here, so it opens anywhere, from a CI artifact as well as from a mail.

const COLOURS = { a: '#2563eb', b: '#ea580c' } as const;

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

/** Latencies of both sides as side-by-side histograms on shared bins. */
function histogram(a: readonly number[], b: readonly number[]): string {
  const width = 640;
  const height = 260;
  const pad = { left: 48, right: 12, top: 16, bottom: 40 };
  const all = [...a, ...b];
  if (all.length === 0) return '<p>No latencies were measured (every request failed).</p>';
  const min = Math.min(...all);
  const max = Math.max(...all);
  const binCount = Math.max(1, Math.min(30, Math.ceil(Math.sqrt(all.length))));
  const span = max - min || 1;
  const bin = (v: number): number => Math.min(binCount - 1, Math.floor(((v - min) / span) * binCount));
  const counts = { a: new Array<number>(binCount).fill(0), b: new Array<number>(binCount).fill(0) };
  for (const v of a) counts.a[bin(v)] = (counts.a[bin(v)] ?? 0) + 1;
  for (const v of b) counts.b[bin(v)] = (counts.b[bin(v)] ?? 0) + 1;
  const top = Math.max(1, ...counts.a, ...counts.b);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / binCount;
  const bars: string[] = [];
  for (let i = 0; i < binCount; i++) {
    for (const [k, offset] of [
      ['a', 0],
      ['b', 1],
    ] as const) {
      const n = counts[k][i] ?? 0;
      if (n === 0) continue;
      const h = (n / top) * plotH;
      const x = pad.left + i * slot + offset * (slot / 2) + 1;
      const lo = min + (i * span) / binCount;
      bars.push(
        `<rect class="bar bar-${k}" x="${x.toFixed(1)}" y="${(pad.top + plotH - h).toFixed(1)}" width="${Math.max(1, slot / 2 - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[k]}"><title>${k.toUpperCase()}: ${n} request(s) from ${fmt(lo)} ms</title></rect>`,
      );
    }
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => {
    const x = pad.left + t * plotW;
    return `<text x="${x.toFixed(1)}" y="${height - pad.bottom + 16}" text-anchor="middle">${fmt(min + t * span)}</text>`;
  });
  return `<svg class="chart" id="latency-histogram" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="latency distributions">
<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${width - pad.right}" y2="${pad.top + plotH}" stroke="#444"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${pad.top + plotH}" stroke="#444"/>
<text x="${pad.left - 6}" y="${pad.top + 4}" text-anchor="end">${top}</text>
<text x="${pad.left - 6}" y="${pad.top + plotH}" text-anchor="end">0</text>
${ticks.join('\n')}
<text x="${pad.left + plotW / 2}" y="${height - 6}" text-anchor="middle">latency (ms)</text>
${bars.join('\n')}
</svg>`;
}

/** Latency of each request, in payload order, both sides (shows warm-up and drift). */
function series(cases: readonly ParityCase[]): string {
  const width = 640;
  const height = 220;
  const pad = { left: 48, right: 12, top: 16, bottom: 32 };
  const values = cases
    .flatMap((c) => [c.latencyMs.a, c.latencyMs.b])
    .filter((v): v is number => v !== undefined);
  if (values.length === 0) return '';
  const top = Math.max(...values) || 1;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (i: number): number =>
    pad.left + (cases.length <= 1 ? plotW / 2 : (i / (cases.length - 1)) * plotW);
  const y = (v: number): number => pad.top + plotH - (v / top) * plotH;
  const line = (k: 'a' | 'b'): string => {
    const points = cases.flatMap((c, i) =>
      c.latencyMs[k] === undefined ? [] : [`${x(i).toFixed(1)},${y(c.latencyMs[k]).toFixed(1)}`],
    );
    const dots = points.map((p) => {
      const [px, py] = p.split(',');
      return `<circle class="point point-${k}" cx="${px}" cy="${py}" r="2.5" fill="${COLOURS[k]}"/>`;
    });
    return `<polyline class="series series-${k}" fill="none" stroke="${COLOURS[k]}" stroke-width="1.5" points="${points.join(' ')}"/>\n${dots.join('\n')}`;
  };
  return `<svg class="chart" id="latency-series" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="latency per request">
<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${width - pad.right}" y2="${pad.top + plotH}" stroke="#444"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${pad.top + plotH}" stroke="#444"/>
<text x="${pad.left - 6}" y="${pad.top + 4}" text-anchor="end">${fmt(top)}</text>
<text x="${pad.left - 6}" y="${pad.top + plotH}" text-anchor="end">0</text>
<text x="${pad.left + plotW / 2}" y="${height - 8}" text-anchor="middle">request (payload order) · latency (ms)</text>
${line('a')}
${line('b')}
</svg>`;
}

function statsTable(result: ParityResult): string {
  const row = (label: string, key: keyof ParityResult['latency']['a']): string =>
    `<tr><th>${label}</th><td>${fmt(result.latency.a[key])}</td><td>${fmt(result.latency.b[key])}</td></tr>`;
  return `<table class="stats"><thead><tr><th></th><th><span class="swatch" style="background:${COLOURS.a}"></span>A: ${escape(result.a.provider)}</th><th><span class="swatch" style="background:${COLOURS.b}"></span>B: ${escape(result.b.provider)}</th></tr></thead><tbody>
${row('min (ms)', 'minMs')}${row('mean (ms)', 'meanMs')}${row('p50 (ms)', 'p50Ms')}${row('p90 (ms)', 'p90Ms')}${row('p99 (ms)', 'p99Ms')}${row('max (ms)', 'maxMs')}
</tbody></table>`;
}

function problems(result: ParityResult): string {
  const bad = result.cases.filter((c) => c.outcome !== 'match');
  if (bad.length === 0) return '<p class="ok" id="no-mismatches">Every answer matched.</p>';
  const rows = bad.slice(0, 500).map((c) => {
    const detail =
      c.outcome === 'error'
        ? escape(c.error ?? 'error')
        : `${escape(c.difference?.reason ?? '')} at <code>${escape(c.difference?.path ?? '')}</code>: A ${escape(JSON.stringify(c.difference?.a))}, B ${escape(JSON.stringify(c.difference?.b))}`;
    return `<tr class="mismatch"><td>${c.line}</td><td>${c.outcome}</td><td>${detail}</td></tr>`;
  });
  const more = bad.length > 500 ? `<p>… and ${bad.length - 500} more (see the JSON summary).</p>` : '';
  return `<table id="mismatches"><thead><tr><th>payload line</th><th>outcome</th><th>what differs</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>${more}`;
}

export function renderParityHtml(result: ParityResult): string {
  const verdict = result.pass ? 'PASS' : 'FAIL';
  const latencies = (k: 'a' | 'b'): number[] =>
    result.cases.flatMap((c) => (c.latencyMs[k] === undefined ? [] : [c.latencyMs[k]]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>modelport parity: ${escape(result.a.name)} (${escape(result.a.provider)}) vs ${escape(result.b.name)} (${escape(result.b.provider)})</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#111;max-width:70rem}
h1{font-size:1.4rem}.verdict{padding:.1rem .5rem;border-radius:.3rem;color:#fff}
.PASS{background:#15803d}.FAIL{background:#b91c1c}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
svg text{font-size:11px;fill:#333}.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
</style></head>
<body>
<h1>Parity <span class="verdict ${verdict}" id="verdict">${verdict}</span></h1>
<table class="sides"><tr><th>A</th><td>${escape(result.a.label)}</td><td>${escape(result.a.name)} on ${escape(result.a.provider)}</td></tr>
<tr><th>B</th><td>${escape(result.b.label)}</td><td>${escape(result.b.name)} on ${escape(result.b.provider)}</td></tr></table>
<p id="counts">${result.total} payload(s): ${result.matched} matched, ${result.mismatched} mismatched, ${result.errors} error(s).
Labels compared exactly, scores within ${result.tolerance.absolute} + ${result.tolerance.relative}×|B|. Started ${escape(result.startedAt)}, took ${(result.durationMs / 1000).toFixed(1)} s.</p>
<h2>Latency</h2>
${statsTable(result)}
<div class="charts">
<figure><figcaption>Distribution (side by side)</figcaption>${histogram(latencies('a'), latencies('b'))}</figure>
<figure><figcaption>Per request</figcaption>${series(result.cases)}</figure>
</div>
<h2>Mismatches and errors</h2>
${problems(result)}
</body></html>
`;
}
