// The provider contract suite (@modelport/testkit) against the AWS emulator: real SDK clients on the wire,
// every request checked against the official models, writes counted by the emulator.
import { contractHarness, providerContractSuite } from '@modelport/testkit';
import { afterAll, expect } from 'vitest';
import type { Harness } from './testing/harness.js';
import { startHarness } from './testing/harness.js';

let h: Harness | undefined;

afterAll(async () => {
  await h?.stop();
});

providerContractSuite({
  provider: 'aws',
  timeoutMs: 60_000,
  setup: async () => {
    h = await startHarness();
    const harness = h;
    return contractHarness({
      modelport: harness.modelport(),
      counters: harness.emulator,
      manifest: (file, payloadMB) =>
        harness.manifest('iris-realtime.yaml', file, [
          [/name: iris$/m, 'name: contract-aws'],
          ['payloadMB: 6', `payloadMB: ${payloadMB}`],
        ]),
      // changed.yaml: a changed limit changes the serving container's environment: new model + config,
      // UpdateEndpoint.
      // invalid.yaml: fails the schema (payloadMB must be > 0), with a file:line:col diagnostic.
      values: { base: '6', changed: '5', invalid: '-1' },
    });
  },
  teardown: async () => {
    h?.emulator.assertNoViolations();
    expect(h?.emulator.sagemaker.endpoints.size).toBe(0);
  },
});
