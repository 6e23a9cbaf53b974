// Faults injected by the emulator: throttling, a failed update (rolled back with no orphans), an endpoint
// that fails to come up, one stuck in Creating, and 5xx answers.
import type { EngineEvent } from '@modelport/core';
import { TAGS } from '@modelport/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { startHarness } from './testing/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterEach(async () => {
  h.emulator.faults.reset();
});

afterAll(async () => {
  await h?.stop();
});

/** A realtime example without autoscaling, named for the test. */
function manifest(file: string, name: string, edits: readonly [string | RegExp, string][] = []) {
  return h.manifest('iris-realtime.yaml', file, [
    [/name: iris$/m, `name: ${name}`],
    [/ {2}scaling:\n(?: {4}.*\n)+/, ''],
    ...edits,
  ]);
}

/** Names of models and configs of one deployment that the emulator holds, with their spec-hash tags. */
function live(name: string) {
  const sm = h.emulator.sagemaker;
  const tagged = (arn: string) => sm.tags.get(arn)?.[TAGS.name] === name;
  return {
    models: [...sm.models.values()].filter((m) => tagged(m.arn)).map((m) => m.name),
    configs: [...sm.endpointConfigs.values()].filter((c) => tagged(c.arn)).map((c) => c.name),
    endpoint: sm.endpoints.get(name),
  };
}

describe('faults', () => {
  it('throttled 5 times, then OK: the apply succeeds (SDK retries, then the engine)', async () => {
    const file = await manifest('throttle.yaml', 'throttled');
    h.emulator.faults.throttle('CreateModel', 5);
    const events: EngineEvent[] = [];
    const before = h.emulator.calls('CreateModel');
    const [outcome] = await h.modelport({ onEvent: (e) => events.push(e) }).apply(file);
    expect(outcome?.result.ok).toBe(true);
    expect(h.emulator.calls('CreateModel') - before).toBe(6);
    expect(live('throttled').models).toHaveLength(1);
    const retries = events.filter((e) => e.type === 'action.retry');
    expect(retries.map((e) => (e.type === 'action.retry' ? e.error.kind : ''))).toContain('throttled');
    await h.modelport().destroy(file);
  });

  it('a failed update rolls back: the endpoint keeps the old config, the new model and config are removed', async () => {
    const v1 = await manifest('update-v1.yaml', 'rollback');
    const v2 = await manifest('update-v2.yaml', 'rollback', [['timeoutSeconds: 30', 'timeoutSeconds: 50']]);
    expect((await h.modelport().apply(v1))[0]?.result.ok).toBe(true);
    const before = live('rollback');
    h.emulator.faults.failNextUpdate('rollback', 'the new variant failed its health check');
    const [outcome] = await h.modelport().apply(v2);
    expect(outcome?.result.ok).toBe(false);
    const failure = outcome?.result.failed[0];
    expect(failure?.id).toBe('sagemaker:Endpoint/rollback');
    expect(failure?.error.message).toMatch(
      /the new variant failed its health check; it still serves rollback-/,
    );
    expect(outcome?.result.rolledBack.sort()).toEqual(
      outcome?.plan.actions
        .filter((a) => a.kind === 'create')
        .map((a) => a.id)
        .sort(),
    );
    const after = live('rollback');
    expect(after.endpoint?.status).toBe('InService');
    expect(after.endpoint?.configName).toBe(before.endpoint?.configName);
    // Only the good version's tagged resources are left.
    expect(after.models).toEqual(before.models);
    expect(after.configs).toEqual(before.configs);
    // The plan says why the endpoint is where it is, and still plans the update.
    const [plan] = await h.modelport().plan(v2);
    expect(plan?.diagnostics.map((d) => d.message).join('\n')).toMatch(
      /the last update failed \(the new variant failed its health check\)/,
    );
    expect(plan?.actions.find((a) => a.type === 'sagemaker:Endpoint')?.kind).toBe('update');
    // Applying again (the cause gone) converges.
    expect((await h.modelport().apply(v2))[0]?.result.ok).toBe(true);
    expect(live('rollback').models).toHaveLength(1);
    await h.modelport().destroy(v2);
    h.emulator.assertNoViolations();
  });

  it('an endpoint that ends Failed is removed, the error says why, and what the apply made is rolled back', async () => {
    const file = await manifest('failed.yaml', 'broken');
    h.emulator.faults.failCreate('broken', 'The primary container did not pass the ping health check.');
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.ok).toBe(false);
    expect(outcome?.result.failed[0]?.error.message).toMatch(
      /failed to start: The primary container did not pass/,
    );
    expect(live('broken')).toEqual({ models: [], configs: [], endpoint: undefined });
    expect(h.emulator.s3.objects().filter((o) => o.tags[TAGS.name] === 'broken')).toEqual([]);
  });

  it('an endpoint stuck in Creating times out with a timeout error naming it', async () => {
    const file = await manifest('stuck.yaml', 'stuck');
    h.emulator.faults.stuckCreating('stuck');
    const quick = await startHarness({ provider: { waitTimeoutMs: 300 } });
    try {
      quick.emulator.faults.stuckCreating('stuck');
      const [outcome] = await quick.modelport().apply(file);
      expect(outcome?.result.ok).toBe(false);
      expect(outcome?.result.failed[0]?.error.kind).toBe('timeout');
      expect(outcome?.result.failed[0]?.error.message).toMatch(/waiting for endpoint stuck/);
    } finally {
      await quick.stop();
    }
  });

  it('500s are retried by the SDK', async () => {
    const file = await manifest('flaky.yaml', 'flaky');
    h.emulator.faults.fail500('CreateEndpointConfig', 2);
    const before = h.emulator.calls('CreateEndpointConfig');
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.ok).toBe(true);
    expect(h.emulator.calls('CreateEndpointConfig') - before).toBe(3);
    await h.modelport().destroy(file);
  });
});
