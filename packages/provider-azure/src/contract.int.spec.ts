// The provider contract suite (@modelport/testkit) against the Azure emulator: real SDK clients on the wire,
// every PUT checked against the official ARM schema, writes counted by the emulator.
import { providerContractSuite } from '@modelport/testkit';
import { afterAll, expect } from 'vitest';
import type { Harness } from './testing/harness.js';
import { startHarness } from './testing/harness.js';

let h: Harness | undefined;

afterAll(async () => {
  await h?.stop();
});

providerContractSuite({
  provider: 'azure',
  timeoutMs: 60_000,
  setup: async () => {
    h = await startHarness();
    const harness = h;
    const manifest = (file: string, payloadMB: string) =>
      harness.manifest('iris-online.yaml', file, [
        [/name: iris$/m, 'name: contract-azure'],
        ['payloadMB: 1', `payloadMB: ${payloadMB}`],
      ]);
    return {
      modelport: harness.modelport(),
      manifests: {
        base: await manifest('base.yaml', '1'),
        // A changed limit changes the deployment's environment: a new deployment, traffic moved blue-green.
        changed: await manifest('changed.yaml', '0.5'),
        // Fails the schema (payloadMB must be > 0), with a file:line:col diagnostic.
        invalid: await manifest('invalid.yaml', '-1'),
      },
      writeCalls: () => harness.emulator.writeCalls(),
      totalCalls: () => harness.emulator.totalCalls(),
    };
  },
  teardown: async () => {
    h?.emulator.assertNoViolations();
    expect(h?.emulator.list('onlineEndpoints')).toEqual([]);
    expect(h?.emulator.list('models/versions')).toEqual([]);
  },
});
