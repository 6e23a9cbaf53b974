// The provider contract suite (@modelport/testkit) against the Vertex AI emulator: real gRPC clients on the
// wire, every request checked against the protos' required fields, writes counted by the emulator.
import { providerContractSuiteWith } from '@modelport/testkit';
import { expect } from 'vitest';
import { startHarness } from './testing/harness.js';

providerContractSuiteWith({
  provider: 'gcp',
  timeoutMs: 30_000,
  start: () => startHarness(),
  contract: (harness) => ({
    modelport: harness.modelport(),
    counters: harness.emulator,
    manifest: (file, timeout) =>
      harness.manifest('iris-endpoint.yaml', file, [
        [/name: iris$/m, 'name: contract-gcp'],
        ['bakeTimeSeconds: 300', 'bakeTimeSeconds: 0'],
        ['timeoutSeconds: 30', `timeoutSeconds: ${timeout}`],
      ]),
    // changed.yaml: a changed timeout changes the container's environment: a new model, deployed beside
    // the old one.
    // invalid.yaml: fails the schema (timeoutSeconds must be > 0), with a file:line:col diagnostic.
    values: { base: '30', changed: '20', invalid: '-1' },
  }),
  teardown: (harness) => {
    harness?.emulator.assertNoViolations();
    expect(harness?.emulator.endpoints.size).toBe(0);
    expect(harness?.emulator.models.size).toBe(0);
  },
});
