// The provider contract suite (@modelport/testkit) against the Vertex AI emulator: real gRPC clients on the
// wire, every request checked against the protos' required fields, writes counted by the emulator.
import { providerContractSuite } from '@modelport/testkit';
import { afterAll, expect } from 'vitest';
import type { Harness } from './testing/harness.js';
import { startHarness } from './testing/harness.js';

let h: Harness | undefined;

afterAll(async () => {
  await h?.stop();
});

providerContractSuite({
  provider: 'gcp',
  timeoutMs: 30_000,
  setup: async () => {
    h = await startHarness();
    const harness = h;
    const manifest = (file: string, timeout: string) =>
      harness.manifest('iris-endpoint.yaml', file, [
        [/name: iris$/m, 'name: contract-gcp'],
        ['bakeTimeSeconds: 300', 'bakeTimeSeconds: 0'],
        ['timeoutSeconds: 30', `timeoutSeconds: ${timeout}`],
      ]);
    return {
      modelport: harness.modelport(),
      manifests: {
        base: await manifest('base.yaml', '30'),
        // A changed timeout changes the container's environment: a new model, deployed beside the old one.
        changed: await manifest('changed.yaml', '20'),
        // Fails the schema (timeoutSeconds must be > 0), with a file:line:col diagnostic.
        invalid: await manifest('invalid.yaml', '-1'),
      },
      writeCalls: () => harness.emulator.writeCalls(),
      totalCalls: () => harness.emulator.totalCalls(),
    };
  },
  teardown: async () => {
    h?.emulator.assertNoViolations();
    expect(h?.emulator.endpoints.size).toBe(0);
    expect(h?.emulator.models.size).toBe(0);
  },
});
