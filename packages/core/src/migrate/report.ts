/** What happens to one field of a manifest when it moves to another provider. */
export type FieldOutcome = 'carried' | 'translated' | 'lossy' | 'unsupported';

export const OUTCOMES: readonly FieldOutcome[] = ['carried', 'translated', 'lossy', 'unsupported'];

export interface MigrationEntry {
  /** `Kind/name` of the document. */
  document: string;
  /** Dotted path of the field (`spec.compute.instanceType`). */
  path: string;
  /** Line of the field in the input (of its nearest existing parent for fields the migration adds). */
  line?: number | undefined;
  outcome: FieldOutcome;
  from?: unknown;
  to?: unknown;
  reason?: string;
}

/** Data to copy to the target's store before the translated manifest can be applied. */
export interface CopyStep {
  document: string;
  path: string;
  from: string;
  to: string;
}

/** A value only the user can give (a project id, a role), left in the output as a TODO that validation refuses. */
export interface MigrationTodo {
  document: string;
  path: string;
  what: string;
}

export interface MigrationReport {
  /** Source providers (one per document, usually the same). */
  from: string[];
  to: string;
  entries: MigrationEntry[];
  copies: CopyStep[];
  todos: MigrationTodo[];
  counts: Record<FieldOutcome, number>;
}

export function countOutcomes(entries: readonly MigrationEntry[]): Record<FieldOutcome, number> {
  const counts: Record<FieldOutcome, number> = { carried: 0, translated: 0, lossy: 0, unsupported: 0 };
  for (const e of entries) counts[e.outcome]++;
  return counts;
}

/** Entries `--strict` fails on: features the target cannot honour as written. */
export function strictFailures(report: MigrationReport): MigrationEntry[] {
  return report.entries.filter((e) => e.outcome === 'lossy' || e.outcome === 'unsupported');
}
