// The provider contract suite (@modelport/testkit) against the AWS emulator: real SDK clients on the wire,
// every request checked against the official models, writes counted by the emulator.
import { providerContractSuiteWith } from '@modelport/testkit';
import { expect } from 'vitest';
import { startHarness } from './testing/harness.js';

providerContractSuiteWith({
  provider: 'aws',
  timeoutMs: 60_000,
  start: () => startHarness(),
  contract: (harness) => ({
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
  }),
  teardown: (harness) => {
    harness?.emulator.assertNoViolations();
    expect(harness?.emulator.sagemaker.endpoints.size).toBe(0);
  },
});
