import { describe, expect, it } from 'vitest';
import { ModelportError } from '../errors.js';
import type { Plan, PlanAction } from '../plan/model.js';
import type { EngineEvent } from './events.js';
import { runPlan } from './engine.js';

function action(id: string, kind: PlanAction['kind'], dependsOn: string[] = []): PlanAction {
  return {
    id,
    kind,
    type: id.split('/')[0] ?? 'x',
    name: id,
    reason: '',
    changes: [],
    dependsOn,
    specHash: 'h',
    desired: { type: 'x', name: id, properties: {} },
  };
}

function plan(actions: PlanAction[]): Plan {
  return { kind: 'Endpoint', name: 'p', provider: 'fake', specHash: 'h', actions, diagnostics: [] };
}

const fast = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 2 };

describe('runPlan', () => {
  it('runs dependencies first and never more than `concurrency` at once', async () => {
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const actions = [
      action('a', 'create'),
      action('b', 'create'),
      action('c', 'create'),
      action('d', 'create', ['a', 'b', 'c']),
    ];
    const result = await runPlan(
      plan(actions),
      async (a) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        order.push(a.id);
        running--;
      },
      { concurrency: 2, retry: fast },
    );
    expect(result.ok).toBe(true);
    expect(peak).toBe(2);
    expect(order[3]).toBe('d');
    expect(result.executions).toBe(4);
  });

  it('makes no call for no-op actions', async () => {
    let calls = 0;
    const result = await runPlan(plan([action('a', 'noop')]), async () => {
      calls++;
    });
    expect(calls).toBe(0);
    expect(result.executions).toBe(0);
  });

  it('retries retryable errors with events, then succeeds', async () => {
    let attempts = 0;
    const events: EngineEvent[] = [];
    const result = await runPlan(
      plan([action('a', 'create')]),
      async () => {
        attempts++;
        if (attempts <= 3) throw new ModelportError('throttled', 'slow down');
      },
      { retry: fast, onEvent: (e) => events.push(e) },
    );
    expect(result.ok).toBe(true);
    expect(attempts).toBe(4);
    expect(events.filter((e) => e.type === 'action.retry')).toHaveLength(3);
  });

  it('does not retry a non-retryable error, skips the rest and rolls back what it created', async () => {
    const calls: string[] = [];
    const result = await runPlan(
      plan([action('a', 'create'), action('b', 'update', ['a']), action('c', 'create', ['b'])]),
      async (a) => {
        calls.push(`${a.kind} ${a.id}`);
        if (a.id === 'b') throw new ModelportError('invalidInput', 'bad');
      },
      { retry: fast },
    );
    expect(result.ok).toBe(false);
    expect(result.failed.map((f) => f.id)).toEqual(['b']);
    expect(result.skipped).toEqual(['c']);
    expect(result.rolledBack).toEqual(['a']);
    expect(calls).toEqual(['create a', 'update b', 'delete a']);
  });
});
