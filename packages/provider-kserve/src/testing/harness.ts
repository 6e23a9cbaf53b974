// Test support (not part of the package build): the fake Kubernetes API server on 127.0.0.1, a kubeconfig
// for it, and a Modelport whose KServe provider is loaded the way the CLI loads it (package declaration →
// module), with the real @kubernetes/client-node talking HTTP to the fake server and fast polls.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Modelport } from '@modelport/core';
import type { FakeKubeOptions, ModelportExtra } from '@modelport/testkit';
import { FakeKubeApiServer, providerModelport, writeKubeconfig } from '@modelport/testkit';
import type { KserveProviderOptions } from '../options.js';
import { KserveProviderOptions as OptionsToken } from '../tokens.js';
import { crdErrors } from './crd-schema.js';
import { PACKAGE_DIR, irisText } from './manifests.js';

export interface Harness {
  server: FakeKubeApiServer;
  dir: string;
  kubeconfig: string;
  options: KserveProviderOptions;
  modelport(extra?: ModelportExtra): Modelport;
  /** Writes the kserve iris example with edits (each must match) into the temp folder. */
  manifest(file: string, edits?: readonly [string | RegExp, string][]): Promise<string>;
  stop(): Promise<void>;
}

export async function startHarness(
  options: FakeKubeOptions & { provider?: Partial<KserveProviderOptions> } = {},
): Promise<Harness> {
  // Every InferenceService written is checked against the CRD's schema, as a real API server does.
  const server = new FakeKubeApiServer({ validate: crdErrors, ...options });
  const { url } = await server.start();
  const dir = await mkdtemp(join(tmpdir(), 'modelport-kserve-test-'));
  const kubeconfig = await writeKubeconfig(join(dir, 'kubeconfig'), url, server.token);
  const providerOptions: KserveProviderOptions = {
    kubeconfigPath: kubeconfig,
    pollIntervalMs: 5,
    waitTimeoutMs: 10_000,
    ...options.provider,
  };
  return {
    server,
    dir,
    kubeconfig,
    options: providerOptions,
    modelport: (extra = {}) => modelportWith(providerOptions, extra),
    async manifest(file, edits = []) {
      const target = join(dir, file);
      await writeFile(target, irisText(edits));
      return target;
    },
    /** Stops everything, then fails if any write of the whole file broke the CRD schema. */
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
      server.assertNoViolations();
    },
  };
}

/** A Modelport whose KServe provider (loaded from the package declaration, as the CLI does) uses `options`. */
export function modelportWith(options: KserveProviderOptions, extra: ModelportExtra = {}): Modelport {
  return providerModelport(PACKAGE_DIR, [[OptionsToken, options]], extra);
}
