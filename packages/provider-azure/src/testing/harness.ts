// Test support (not part of the package build): azurite and an AzureEmulator on 127.0.0.1, and a Modelport
// whose Azure provider is loaded the way the CLI loads it (package declaration → module), with the real SDK
// clients pointed at the emulator over HTTPS (its CA trusted), a fake token credential, fast retries and polls.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { AzureEmulatorOptions, CloudHarness, RunningAzurite } from '@modelport/testkit';
import {
  AZURE_WORKSPACE_REGISTRY,
  AzureEmulator,
  cloudHarness,
  ImageRegistry,
  providerModelport,
  startAzurite,
  testServingImage,
} from '@modelport/testkit';
import type { AzureClientConfig } from '../client-factory.js';
import { DefaultAzureClientFactory } from '../client-factory.js';
import type { AzureProviderOptions } from '../options.js';
import { AzureClientFactory, AzureProviderOptions as OptionsToken } from '../tokens.js';

export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const ROOT = join(PACKAGE_DIR, '../..');
export const IRIS_MODEL = join(ROOT, 'examples/iris/model.onnx');
export const EXAMPLES = join(ROOT, 'examples/azure');
export const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
export const RESOURCE_GROUP = 'modelport-examples';
export const WORKSPACE = 'modelport-ws';
/** Where the provider looks for the serving image of an ONNX model: the workspace's own registry. */
export const SERVING_IMAGE = `${AZURE_WORKSPACE_REGISTRY}.azurecr.io/modelport-serving:0.1.0`;
/** Probe delays and periods at 5 % of Azure's (10 s + 30 × 10 s becomes 0.5 s + 30 × 0.5 s). */
export const PROBE_SCALE = 0.05;

/** A registry holding the real serving image (with its decoy model) where the workspace's ACR would have it. */
export async function servingImages(): Promise<ImageRegistry> {
  return new ImageRegistry().push(SERVING_IMAGE, await testServingImage());
}

/** A TokenCredential that hands out a fake token: the SDK's bearer policy runs unchanged. */
export class FakeCredential implements TokenCredential {
  requests = 0;
  async getToken(): Promise<AccessToken> {
    this.requests++;
    return { token: 'fake-token-for-the-emulator', expiresOnTimestamp: Date.now() + 3600_000 };
  }
}

export type Harness = CloudHarness<AzureEmulator, DefaultAzureClientFactory, AzureProviderOptions> & {
  azurite: RunningAzurite;
};

export async function startHarness(
  options: AzureEmulatorOptions & {
    client?: Partial<AzureClientConfig>;
    provider?: Partial<AzureProviderOptions>;
  } = {},
): Promise<Harness> {
  const azurite = await startAzurite();
  const emulator = new AzureEmulator({
    storage: azurite,
    images: await servingImages(),
    probeScale: PROBE_SCALE,
    ...options,
  });
  try {
    await emulator.start();
  } catch (error) {
    await azurite.stop();
    throw error;
  }
  const factory = new DefaultAzureClientFactory({
    armEndpoint: emulator.url,
    credential: new FakeCredential(),
    tlsCa: emulator.ca,
    blobEndpoint: azurite.blobEndpoint,
    retryOptions: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
    ...options.client,
  });
  const providerOptions: AzureProviderOptions = {
    pollIntervalMs: 10,
    waitTimeoutMs: 20_000,
    ...options.provider,
  };
  const harness = await cloudHarness({
    provider: 'azure',
    examplesDir: EXAMPLES,
    emulator,
    factory,
    options: providerOptions,
    modelport: (extra) =>
      providerModelport(
        PACKAGE_DIR,
        [
          [AzureClientFactory, factory],
          [OptionsToken, providerOptions],
        ],
        extra,
      ),
    afterStop: () => azurite.stop(),
  });
  return { ...harness, azurite };
}
