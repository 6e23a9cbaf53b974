import { describe, expect, it } from 'vitest';
import type { Modelport, Plan } from '@modelport/core';
import { ModelportError } from '@modelport/core';

/** What a provider's test hands the contract suite. */
export interface ContractHarness {
  /** A Modelport wired with the provider under test (against its emulator). */
  modelport: Modelport;
  /** Manifest files: a valid base, the same deployment with a changed spec, and an invalid one. */
  manifests: { base: string; changed: string; invalid: string };
  /** Write calls the provider has made to its cloud (emulator counters), for "zero writes" checks. */
  writeCalls(): number | Promise<number>;
  /** Every call to the cloud, reads included: invalid input must make none. */
  totalCalls(): number | Promise<number>;
}

export interface ContractOptions {
  /** Provider id, for test names. */
  provider: string;
  setup(): Promise<ContractHarness>;
  teardown?(harness: ContractHarness): Promise<void>;
  /** Per-test timeout (cloud emulators walk real state transitions). */
  timeoutMs?: number;
}

function kinds(plans: readonly Plan[]): string[] {
  return plans.flatMap((p) => p.actions.map((a) => a.kind));
}

/**
 * The provider contract: every provider passes it, against its emulator. The tests run in order and
 * share one deployment, like a user's session: plan, apply, re-apply, change, destroy, destroy again.
 */
export function providerContractSuite(options: ContractOptions): void {
  describe(
    `provider contract: ${options.provider}`,
    { sequential: true, timeout: options.timeoutMs ?? 60_000 },
    () => {
      let harness: ContractHarness;
      const h = (): ContractHarness => harness;

      it('sets up', async () => {
        harness = await options.setup();
      });

      it('plans create for every resource when nothing exists', async () => {
        const plans = await h().modelport.plan(h().manifests.base);
        expect(plans.length).toBeGreaterThan(0);
        expect(kinds(plans).length).toBeGreaterThan(0);
        expect(new Set(kinds(plans))).toEqual(new Set(['create']));
      });

      it('applies, then plans no-op, and re-applying makes zero write calls', async () => {
        const outcomes = await h().modelport.apply(h().manifests.base);
        expect(outcomes.every((o) => o.result.ok)).toBe(true);
        const replan = await h().modelport.plan(h().manifests.base);
        expect(new Set(kinds(replan))).toEqual(new Set(['noop']));
        const before = await h().writeCalls();
        const again = await h().modelport.apply(h().manifests.base);
        expect(again.every((o) => o.result.ok && o.result.executions === 0)).toBe(true);
        expect(await h().writeCalls()).toBe(before);
      });

      it('reports the deployment in status and list', async () => {
        const [status] = await h().modelport.status(h().manifests.base);
        expect(status?.state).not.toBe('absent');
        expect(status?.resources.length).toBeGreaterThan(0);
      });

      it('plans an update or replace for a changed spec and converges after apply', async () => {
        const plans = await h().modelport.plan(h().manifests.changed);
        const changed = kinds(plans).filter((k) => k !== 'noop');
        expect(changed.length).toBeGreaterThan(0);
        expect(changed.some((k) => k === 'update' || k === 'replace' || k === 'create')).toBe(true);
        const outcomes = await h().modelport.apply(h().manifests.changed);
        expect(outcomes.every((o) => o.result.ok)).toBe(true);
        expect(new Set(kinds(await h().modelport.plan(h().manifests.changed)))).toEqual(new Set(['noop']));
      });

      it('destroys everything, after which nothing is left', async () => {
        const outcomes = await h().modelport.destroy(h().manifests.changed);
        expect(outcomes.every((o) => o.result.ok)).toBe(true);
        const destroyPlan = await h().modelport.planDestroy(h().manifests.changed);
        expect(kinds(destroyPlan)).toEqual([]);
        const [status] = await h().modelport.status(h().manifests.changed);
        expect(status?.state).toBe('absent');
      });

      it('destroys again without error', async () => {
        const outcomes = await h().modelport.destroy(h().manifests.changed);
        expect(outcomes.every((o) => o.result.ok && o.result.executions === 0)).toBe(true);
      });

      it('rejects invalid input with a located error and makes no provider call', async () => {
        const before = await h().totalCalls();
        const error = await h()
          .modelport.apply(h().manifests.invalid)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(ModelportError.is(error, 'invalidInput')).toBe(true);
        // file:line:col path: message
        expect((error as Error).message).toMatch(/:\d+:\d+ error \S+: /);
        expect(await h().totalCalls()).toBe(before);
      });

      it('tears down', async () => {
        await options.teardown?.(h());
      });
    },
  );
}
