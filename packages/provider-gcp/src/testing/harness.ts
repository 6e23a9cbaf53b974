// Test support (not part of the package build): a VertexEmulator (gRPC + fake GCS) on 127.0.0.1 and a
// Modelport whose GCP provider is loaded the way the CLI loads it (package declaration → module), with the
// real SDK clients pointed at the emulator and fast polls.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudHarness, VertexEmulatorOptions } from '@modelport/testkit';
import {
  cloudHarness,
  ImageRegistry,
  providerModelport,
  pinnedServingImage,
  VertexEmulator,
} from '@modelport/testkit';
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
/** Where the provider expects the portable serving image (the project's Artifact Registry). */
export const SERVING_IMAGE_URI = `${LOCATION}-docker.pkg.dev/${PROJECT}/modelport/modelport-serving:0.1.0`;

/** An Artifact Registry holding the real serving image (built by the vitest global setup) at its usual place. */
export async function servingRegistry(): Promise<ImageRegistry> {
  return new ImageRegistry().push(SERVING_IMAGE_URI, await pinnedServingImage());
}

/**
 * Model containers in tests: Vertex's liveness probe (4 attempts) 1 s apart instead of 10 s, since the image
 * opens its port in well under a second, and restarts back off from 0.5 s instead of 10 s; the deployment
 * timeout stays the emulator's.
 */
export const TEST_CONTAINER_TIMING = { livenessIntervalMs: 1_000, restartBackoffMs: 500 } as const;

export type Harness = CloudHarness<VertexEmulator, DefaultGcpClientFactory, GcpProviderOptions>;

export async function startHarness(
  options: VertexEmulatorOptions & { provider?: Partial<GcpProviderOptions> } = {},
): Promise<Harness> {
  const emulator = new VertexEmulator({
    buckets: [BUCKET],
    images: await servingRegistry(),
    containers: TEST_CONTAINER_TIMING,
    ...options,
  });
  const { address, gcsUrl } = await emulator.start();
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
  return cloudHarness({
    provider: 'gcp',
    examplesDir: EXAMPLES,
    emulator,
    factory,
    options: providerOptions,
    modelport: (extra) =>
      providerModelport(
        PACKAGE_DIR,
        [
          [GcpClientFactory, factory],
          [OptionsToken, providerOptions],
        ],
        extra,
      ),
    beforeStop: () => factory.close(),
  });
}
