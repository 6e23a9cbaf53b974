// The provider contract suite (@modelport/testkit) against the fake Kubernetes API server: the real
// @kubernetes/client-node on the wire, writes counted by the server.
import { contractHarness, providerContractSuite } from '@modelport/testkit';
import { afterAll, expect } from 'vitest';
import type { Harness } from './testing/harness.js';
import { startHarness } from './testing/harness.js';

let h: Harness | undefined;

afterAll(async () => {
  await h?.stop();
});

providerContractSuite({
  provider: 'kserve',
  timeoutMs: 30_000,
  setup: async () => {
    h = await startHarness();
    const harness = h;
    return contractHarness({
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
    });
  },
  teardown: async () => {
    expect(h?.server.store.objects.size).toBe(0);
  },
});
