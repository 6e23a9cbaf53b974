// The provider contract suite (@modelport/testkit) against the fake Kubernetes API server: the real
// @kubernetes/client-node on the wire, writes counted by the server.
import { providerContractSuite } from '@modelport/testkit';
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
    const manifest = (file: string, maxReplicas: string) =>
      harness.manifest(file, [
        [/name: iris$/m, 'name: contract-kserve'],
        ['maxReplicas: 4', `maxReplicas: ${maxReplicas}`],
      ]);
    return {
      modelport: harness.modelport(),
      manifests: {
        base: await manifest('base.yaml', '4'),
        // More replicas: a new InferenceService generation, updated in place.
        changed: await manifest('changed.yaml', '6'),
        // Fails the schema (maxReplicas must be >= 1), with a file:line:col diagnostic.
        invalid: await manifest('invalid.yaml', '-1'),
      },
      writeCalls: () => harness.server.writeCalls(),
      totalCalls: () => harness.server.totalCalls(),
    };
  },
  teardown: async () => {
    expect(h?.server.store.objects.size).toBe(0);
  },
});
