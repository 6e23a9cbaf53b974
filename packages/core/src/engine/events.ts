import type { ModelportError } from '../errors.js';
import type { Plan, PlanAction } from '../plan/model.js';

/** Structured events core emits while it works; the CLI renders them (progress bars, plain lines, JSON). */
export type EngineEvent =
  | { type: 'apply.start'; plan: Plan; total: number }
  | { type: 'action.start'; action: PlanAction; attempt: number }
  | { type: 'action.progress'; action: PlanAction; message: string; fraction?: number }
  | { type: 'action.retry'; action: PlanAction; attempt: number; delayMs: number; error: ModelportError }
  | { type: 'action.done'; action: PlanAction; durationMs: number }
  | { type: 'action.failed'; action: PlanAction; error: ModelportError }
  | { type: 'rollback.start'; plan: Plan; actions: number }
  | { type: 'rollback.done'; plan: Plan; undone: string[]; failed: string[] }
  | { type: 'apply.done'; plan: Plan; result: ApplyResult }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string; fields?: Record<string, unknown> };

export type EventListener = (event: EngineEvent) => void;

export interface ApplyResult {
  ok: boolean;
  done: string[];
  failed: { id: string; error: ModelportError }[];
  /** Actions not started because an earlier one failed. */
  skipped: string[];
  /** Resources this run created and removed again after a failure. */
  rolledBack: string[];
  /** Provider `execute` calls, retries and rollbacks included (noop actions make none). */
  executions: number;
  durationMs: number;
}
