// The provider contract suite (@modelport/testkit) against the Azure emulator: real SDK clients on the wire,
// every PUT checked against the official ARM schema, writes counted by the emulator.
import { providerContractSuiteWith } from '@modelport/testkit';
import { expect } from 'vitest';
import { startHarness } from './testing/harness.js';

providerContractSuiteWith({
  provider: 'azure',
  timeoutMs: 60_000,
  start: () => startHarness(),
  contract: (harness) => ({
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
  }),
  teardown: (harness) => {
    harness?.emulator.assertNoViolations();
    expect(harness?.emulator.list('onlineEndpoints')).toEqual([]);
    expect(harness?.emulator.list('models/versions')).toEqual([]);
  },
});
