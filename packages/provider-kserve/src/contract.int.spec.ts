// The provider contract suite (@modelport/testkit) against the fake Kubernetes API server: the real
// @kubernetes/client-node on the wire, writes counted by the server, every generation's predictor pod the
// real serving image (it must pass its readiness probe before the InferenceService is Ready).
import { providerContractSuiteWith } from '@modelport/testkit';
import { expect } from 'vitest';
import { startHarness } from './testing/harness.js';

providerContractSuiteWith({
  provider: 'kserve',
  timeoutMs: 30_000,
  start: () => startHarness({ serving: true, provider: { waitTimeoutMs: 60_000, pollIntervalMs: 20 } }),
  contract: (harness) => ({
    modelport: harness.modelport(),
    counters: harness.server,
    manifest: (file, maxReplicas) =>
      harness.manifest(file, [
        [/name: iris$/m, 'name: contract-kserve'],
        ['maxReplicas: 4', `maxReplicas: ${maxReplicas}`],
      ]),
    // changed.yaml: more replicas: a new InferenceService generation, updated in place.
    // invalid.yaml: fails the schema (maxReplicas must be >= 1), with a file:line:col diagnostic.
    values: { base: '4', changed: '6', invalid: '-1' },
  }),
  teardown: async (harness) => {
    expect(harness?.server.store.objects.size).toBe(0);
    await harness?.server.pods?.idle();
    expect(harness?.server.pods?.running()).toEqual([]);
  },
});
