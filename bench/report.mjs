// Targets and tables: decides pass/fail of each metric and prints the results as text or Markdown.

const OPS = {
  '>=': (a, b) => a >= b,
  '<=': (a, b) => a <= b,
  '<': (a, b) => a < b,
  '==': (a, b) => a === b,
};

/**
 * @typedef {object} Metric
 * @property {string} id
 * @property {string} label
 * @property {string} unit
 * @property {number} subject modelport's figure
 * @property {number} [baseline] the baseline's figure
 * @property {number} [ratio] subject / baseline
 * @property {{ on: 'ratio' | 'subject', op: '>=' | '<=' | '<' | '==', value: number }} [target]
 * @property {string} [error] the measurement is not valid (e.g. failed requests)
 * @property {string} [note]
 * @property {boolean | null} [pass] set by judge(): null when there is no target
 */

/** Sets `pass` on a metric from its target. @param {Metric} metric */
export function judge(metric) {
  if (metric.target === undefined) return { ...metric, pass: null };
  const value = metric.target.on === 'ratio' ? metric.ratio : metric.subject;
  const ok =
    metric.error === undefined && Number.isFinite(value) && OPS[metric.target.op](value, metric.target.value);
  return { ...metric, pass: ok };
}

export function formatNumber(value) {
  if (value === undefined || value === null) return '';
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1000) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function targetText(metric) {
  const t = metric.target;
  if (t === undefined) return '';
  const op = { '>=': '≥', '<=': '≤', '<': '<', '==': '=' }[t.op];
  return t.on === 'ratio' ? `${op} ${t.value}×` : `${op} ${formatNumber(t.value)}`;
}

function resultText(metric) {
  if (metric.error !== undefined) return `ERROR: ${metric.error}`;
  const verdict = metric.pass === null ? '' : metric.pass ? 'pass' : 'FAIL';
  return metric.note === undefined ? verdict : `${verdict} (${metric.note})`.trim();
}

/** Rows of strings for every metric of every group (groups that failed get one row with the error). */
function rows(groups) {
  const out = [];
  for (const [name, group] of Object.entries(groups)) {
    if (group.error !== undefined) {
      out.push([name, 'group failed', '', '', '', '', '', `ERROR: ${group.error.split('\n')[0]}`]);
      continue;
    }
    for (const m of group.metrics) {
      out.push([
        name,
        m.label,
        m.unit,
        formatNumber(m.subject),
        formatNumber(m.baseline),
        m.ratio === undefined ? '' : `${m.ratio.toFixed(2)}×`,
        targetText(m),
        resultText(m),
      ]);
    }
  }
  return out;
}

const HEADER = ['group', 'measurement', 'unit', 'modelport', 'baseline', 'ratio', 'target', 'result'];

/** A plain-text table for the terminal. */
export function textTable(groups) {
  const all = [HEADER, ...rows(groups)];
  const widths = HEADER.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const numeric = new Set([3, 4, 5]);
  const line = (r) =>
    r.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** The same table in Markdown (for bench/RESULTS.md). */
export function markdownTable(groups) {
  const escape = (s) => s.replace(/\|/g, '\\|');
  const body = rows(groups).map((r) => `| ${r.map(escape).join(' | ')} |`);
  return [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, c) => ([3, 4, 5].includes(c) ? '---:' : '---')).join('|')}|`,
    ...body,
  ].join('\n');
}
