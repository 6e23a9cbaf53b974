// The provider contract suite (@modelport/testkit) against the AWS emulator: real SDK clients on the wire,
// every request checked against the official models, writes counted by the emulator.
import { providerContractSuite } from '@modelport/testkit';
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
    const manifest = (file: string, payloadMB: string) =>
      harness.manifest('iris-realtime.yaml', file, [
        [/name: iris$/m, 'name: contract-aws'],
        ['payloadMB: 6', `payloadMB: ${payloadMB}`],
      ]);
    return {
      modelport: harness.modelport(),
      manifests: {
        base: await manifest('base.yaml', '6'),
        // A changed limit changes the serving container's environment: new model + config, UpdateEndpoint.
        changed: await manifest('changed.yaml', '5'),
        // Fails the schema (payloadMB must be > 0), with a file:line:col diagnostic.
        invalid: await manifest('invalid.yaml', '-1'),
      },
      writeCalls: () => harness.emulator.writeCalls(),
      totalCalls: () => harness.emulator.totalCalls(),
    };
  },
  teardown: async () => {
    h?.emulator.assertNoViolations();
    expect(h?.emulator.sagemaker.endpoints.size).toBe(0);
  },
});
