import type { ModelportError } from '../errors.js';
import { toModelportError } from '../errors.js';
import type { Plan, PlanAction } from '../plan/model.js';
import type { ApplyResult, EventListener } from './events.js';
import type { RetryPolicy } from './retry.js';
import { DEFAULT_RETRY, withRetry } from './retry.js';

export interface EngineOptions {
  /** Actions run at once when their dependencies allow (default 4). */
  concurrency?: number;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  onEvent?: EventListener;
  /** Remove what this run created when an action fails (default true). */
  rollback?: boolean;
  random?: () => number;
}

export interface ActionRunContext {
  signal: AbortSignal;
  attempt: number;
  progress(message: string, fraction?: number): void;
}

export type ActionExecutor = (action: PlanAction, ctx: ActionRunContext) => Promise<void>;

/**
 * Runs a plan: every action once its dependencies are done, at most `concurrency` at a time, retrying
 * retryable errors with jittered backoff. On failure it starts nothing new, lets running actions finish,
 * then deletes what this run created (in reverse order) so no half-made deployment is left unrecorded.
 */
export async function runPlan(
  plan: Plan,
  execute: ActionExecutor,
  options: EngineOptions = {},
): Promise<ApplyResult> {
  const started = Date.now();
  const emit = options.onEvent ?? (() => undefined);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const controller = new AbortController();
  const signal =
    options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);

  const pending = new Map(plan.actions.map((a) => [a.id, a]));
  const done = new Set<string>();
  const failed: { id: string; error: ModelportError }[] = [];
  const created: PlanAction[] = [];
  let executions = 0;
  let running = 0;
  let stop = false;

  emit({ type: 'apply.start', plan, total: plan.actions.filter((a) => a.kind !== 'noop').length });

  // Noops are done without a call.
  for (const action of plan.actions) {
    if (action.kind === 'noop') {
      pending.delete(action.id);
      done.add(action.id);
    }
  }

  await new Promise<void>((resolveAll) => {
    const ready = (a: PlanAction): boolean =>
      a.dependsOn.every((dep) => done.has(dep) || !planHas(plan, dep));
    const pump = (): void => {
      if (!stop) {
        for (const action of [...pending.values()]) {
          if (running >= concurrency) break;
          if (!ready(action)) continue;
          pending.delete(action.id);
          running++;
          void runOne(action).finally(() => {
            running--;
            pump();
          });
        }
      }
      if (running === 0) resolveAll();
    };
    const runOne = async (action: PlanAction): Promise<void> => {
      const actionStart = Date.now();
      try {
        await withRetry(
          async (attempt) => {
            emit({ type: 'action.start', action, attempt });
            executions++;
            await execute(action, {
              signal,
              attempt,
              progress: (message, fraction) =>
                emit({
                  type: 'action.progress',
                  action,
                  message,
                  ...(fraction === undefined ? {} : { fraction }),
                }),
            });
          },
          {
            policy: options.retry ?? DEFAULT_RETRY,
            signal,
            onRetry: (attempt, delayMs, error) =>
              emit({ type: 'action.retry', action, attempt, delayMs, error }),
            ...(options.random === undefined ? {} : { random: options.random }),
          },
        );
        done.add(action.id);
        if (action.kind === 'create') created.push(action);
        emit({ type: 'action.done', action, durationMs: Date.now() - actionStart });
      } catch (thrown) {
        const error = toModelportError(thrown);
        failed.push({ id: action.id, error });
        stop = true;
        emit({ type: 'action.failed', action, error });
      }
    };
    pump();
  });

  const rolledBack: string[] = [];
  if (failed.length > 0 && options.rollback !== false && created.length > 0) {
    emit({ type: 'rollback.start', plan, actions: created.length });
    const rollbackFailed: string[] = [];
    for (const action of [...created].reverse()) {
      const undo: PlanAction = {
        ...action,
        kind: 'delete',
        reason: `rollback: ${failed[0]?.id ?? 'an action'} failed`,
        changes: [],
        dependsOn: [],
        observed: {
          type: action.type,
          name: action.name,
          properties: action.desired?.properties ?? {},
          specHash: action.specHash,
          managed: true,
          state: 'unknown',
        },
      };
      try {
        executions++;
        await withRetry(
          () =>
            execute(undo, {
              signal: options.signal ?? new AbortController().signal,
              attempt: 1,
              progress: () => undefined,
            }),
          {
            policy: options.retry ?? DEFAULT_RETRY,
          },
        );
        rolledBack.push(action.id);
      } catch {
        rollbackFailed.push(action.id);
      }
    }
    emit({ type: 'rollback.done', plan, undone: rolledBack, failed: rollbackFailed });
  }

  const result: ApplyResult = {
    ok: failed.length === 0,
    done: [...done].filter((id) => plan.actions.find((a) => a.id === id)?.kind !== 'noop'),
    failed,
    skipped: [...pending.keys()],
    rolledBack,
    executions,
    durationMs: Date.now() - started,
  };
  emit({ type: 'apply.done', plan, result });
  return result;
}

function planHas(plan: Plan, id: string): boolean {
  return plan.actions.some((a) => a.id === id);
}
