// Test support (not part of the package build): a VertexEmulator (gRPC + fake GCS) on 127.0.0.1 and a
// Modelport whose GCP provider is loaded the way the CLI loads it (package declaration → module), with the
// real SDK clients pointed at the emulator and fast polls.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Modelport } from '@modelport/core';
import type { ModelportExtra, VertexEmulatorOptions } from '@modelport/testkit';
import { copyExample, providerModelport, VertexEmulator } from '@modelport/testkit';
import { DefaultGcpClientFactory } from '../client-factory.js';
import { DEFAULT_OPTIONS } from '../options.js';
import type { GcpProviderOptions } from '../options.js';
import { GcpClientFactory, GcpProviderOptions as OptionsToken } from '../tokens.js';

// The auth library must never look for a GCE metadata server in tests.
process.env['METADATA_SERVER_DETECTION'] = 'none';

export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const ROOT = join(PACKAGE_DIR, '../..');
export const IRIS_MODEL = join(ROOT, 'examples/iris/model.onnx');
export const EXAMPLES = join(ROOT, 'examples/gcp');
export const BUCKET = 'modelport-examples-artifacts';
export const PROJECT = 'modelport-examples';
export const LOCATION = 'us-central1';

export interface Harness {
  emulator: VertexEmulator;
  dir: string;
  factory: DefaultGcpClientFactory;
  options: GcpProviderOptions;
  modelport(extra?: ModelportExtra): Modelport;
  /** Copies an example manifest into the temp folder with edits (each must match); paths made absolute. */
  manifest(example: string, file: string, edits?: readonly [string | RegExp, string][]): Promise<string>;
  stop(): Promise<void>;
}

export async function startHarness(
  options: VertexEmulatorOptions & { provider?: Partial<GcpProviderOptions> } = {},
): Promise<Harness> {
  const emulator = new VertexEmulator({ buckets: [BUCKET], ...options });
  const { address, gcsUrl } = await emulator.start();
  const dir = await mkdtemp(join(tmpdir(), 'modelport-gcp-test-'));
  const providerOptions: GcpProviderOptions = {
    ...DEFAULT_OPTIONS,
    pollIntervalMs: 10,
    waitTimeoutMs: 20_000,
    ...options.provider,
  };
  const factory = new DefaultGcpClientFactory({
    apiEndpoint: address,
    gcsEndpoint: gcsUrl,
    options: providerOptions,
  });
  return {
    emulator,
    dir,
    factory,
    options: providerOptions,
    modelport: (extra = {}) => modelportWith(factory, providerOptions, extra),
    manifest: (example, file, edits = []) => copyExample(EXAMPLES, dir, example, file, edits),
    /** Stops everything, then fails if any request of the whole file broke the protos. */
    async stop() {
      await factory.close();
      await emulator.stop();
      await rm(dir, { recursive: true, force: true });
      emulator.assertNoViolations();
    },
  };
}

/** A Modelport whose GCP provider (loaded from the package declaration, as the CLI does) uses `factory`. */
export function modelportWith(
  factory: DefaultGcpClientFactory,
  options: GcpProviderOptions,
  extra: ModelportExtra = {},
): Modelport {
  return providerModelport(
    PACKAGE_DIR,
    [
      [GcpClientFactory, factory],
      [OptionsToken, options],
    ],
    extra,
  );
}
