import { fileURLToPath } from 'node:url';
import { providerContractSuite } from '@modelport/testkit';
import { createModelport } from './composition.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pluginDir = `${root}test/fixtures/plugins/modelport-provider-fake`;
const fixtures = `${root}test/fixtures/fake`;

interface FakeCloud {
  calls: { read: number; write: number };
  resources: Map<string, unknown>;
}
const fakeCloud = (): FakeCloud =>
  (globalThis as Record<symbol, FakeCloud>)[Symbol.for('modelport-provider-fake/state')]!;

// The fake provider is a third-party package loaded through the plugin mechanism, not imported.
providerContractSuite({
  provider: 'fake (plugin)',
  setup: async () => ({
    modelport: createModelport({ plugins: [pluginDir] }),
    manifests: {
      base: `${fixtures}/base.yaml`,
      changed: `${fixtures}/changed.yaml`,
      invalid: `${fixtures}/invalid.yaml`,
    },
    writeCalls: () => fakeCloud().calls.write,
    totalCalls: () => fakeCloud().calls.read + fakeCloud().calls.write,
  }),
});
