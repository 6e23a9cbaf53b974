import type { FieldOutcome, MigrationEntry, MigrationReport } from '@modelport/core';
import type { Style } from './style.js';
import { renderTable } from './table.js';

function show(value: unknown): string {
  if (value === undefined) return '(unset)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function change(entry: MigrationEntry): string {
  const moved = 'from' in entry || 'to' in entry ? `${show(entry.from)} → ${show(entry.to)}` : '';
  return [moved, entry.reason ?? ''].filter((s) => s !== '').join(': ');
}

/** The report of `modelport migrate`: every field of every document, then what is left to do. */
export function renderMigration(report: MigrationReport, source: string, style: Style): string {
  const colour: Record<FieldOutcome, (t: string) => string> = {
    carried: style.dim,
    translated: style.cyan,
    lossy: style.yellow,
    unsupported: style.red,
  };
  const lines: string[] = [style.bold(`migrate ${source}: ${report.from.join(', ') || '-'} → ${report.to}`)];
  const documents = [...new Set(report.entries.map((e) => e.document))];
  for (const document of documents) {
    lines.push('', style.bold(document));
    const rows = report.entries
      .filter((e) => e.document === document)
      .map((e) => [String(e.line ?? ''), e.path, colour[e.outcome](e.outcome), change(e)]);
    lines.push(renderTable(['LINE', 'FIELD', 'OUTCOME', 'CHANGE / REASON'], rows));
  }
  const c = report.counts;
  lines.push(
    '',
    `${c.carried} carried, ${c.translated} translated, ${c.lossy} lossy, ${c.unsupported} unsupported`,
  );
  if (report.copies.length > 0) {
    lines.push('', style.bold('copy before applying:'));
    for (const copy of report.copies)
      lines.push(`  ${copy.from} → ${copy.to}  (${copy.document} ${copy.path})`);
  }
  if (report.todos.length > 0) {
    lines.push('', style.yellow('fill in before applying (validation refuses the TODO values):'));
    for (const todo of report.todos) lines.push(`  ${todo.document} ${todo.path}: ${todo.what}`);
  }
  return lines.join('\n');
}
