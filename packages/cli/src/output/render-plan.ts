import type { ActionKind, FieldChange, Plan } from '@modelport/core';
import { countActions, formatDiagnostic } from '@modelport/core';
import type { Style } from './style.js';

const SYMBOL: Record<ActionKind, string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
  noop: '=',
};

/** A plan as people read it: one line per resource, then its field changes, then the totals. */
export function renderPlan(plan: Plan, style: Style, options: { showNoop?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(style.bold(`${plan.kind} ${plan.name} → ${plan.provider}`));
  for (const diagnostic of plan.diagnostics) {
    const text = formatDiagnostic(diagnostic);
    lines.push(`  ${diagnostic.severity === 'warning' ? style.yellow(text) : style.red(text)}`);
  }
  for (const action of plan.actions) {
    if (action.kind === 'noop' && options.showNoop !== true) continue;
    const colour = colourFor(action.kind, style);
    lines.push(
      `  ${colour(`${SYMBOL[action.kind].padEnd(3)} ${action.kind.padEnd(7)}`)} ${action.id}  ${style.dim(`(${action.reason})`)}`,
    );
    for (const change of action.changes.slice(0, 40))
      lines.push(`        ${renderChange(change, action.kind, style)}`);
    if (action.changes.length > 40) lines.push(style.dim(`        … ${action.changes.length - 40} more`));
  }
  const counts = countActions(plan);
  const changes = counts.create + counts.update + counts.replace + counts.delete;
  lines.push(
    changes === 0
      ? style.green('  no changes: the deployment matches the manifest')
      : `  ${counts.create} to create, ${counts.update} to update, ${counts.replace} to replace, ${counts.delete} to delete, ${counts.noop} unchanged`,
  );
  return lines.join('\n');
}

function renderChange(change: FieldChange, kind: ActionKind, style: Style): string {
  if (kind === 'create' || change.before === undefined)
    return `${change.path}: ${style.green(show(change.after))}`;
  if (change.after === undefined) return `${change.path}: ${style.red(show(change.before))} → (removed)`;
  return `${change.path}: ${style.red(show(change.before))} → ${style.green(show(change.after))}`;
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function colourFor(kind: ActionKind, style: Style): (text: string) => string {
  switch (kind) {
    case 'create':
      return style.green;
    case 'delete':
      return style.red;
    case 'noop':
      return style.dim;
    default:
      return style.yellow;
  }
}
