// The provider contract suite (@modelport/testkit) against the Azure emulator: real SDK clients on the wire,
// every PUT checked against the official ARM schema, writes counted by the emulator.
import { contractHarness, providerContractSuite } from '@modelport/testkit';
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
    return contractHarness({
      modelport: harness.modelport(),
      counters: harness.emulator,
      manifest: (file, payloadMB) =>
        harness.manifest('iris-online.yaml', file, [
          [/name: iris$/m, 'name: contract-azure'],
          ['payloadMB: 1', `payloadMB: ${payloadMB}`],
        ]),
      // changed.yaml: a changed limit changes the deployment's environment: a new deployment, traffic moved
      // blue-green.
      // invalid.yaml: fails the schema (payloadMB must be > 0), with a file:line:col diagnostic.
      values: { base: '1', changed: '0.5', invalid: '-1' },
    });
  },
  teardown: async () => {
    h?.emulator.assertNoViolations();
    expect(h?.emulator.list('onlineEndpoints')).toEqual([]);
    expect(h?.emulator.list('models/versions')).toEqual([]);
  },
});
