// Test support (not part of the package build): azurite and an AzureEmulator on 127.0.0.1, and a Modelport
// whose Azure provider is loaded the way the CLI loads it (package declaration → module), with the real SDK
// clients pointed at the emulator over HTTPS (its CA trusted), a fake token credential, fast retries and polls.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { EngineOptions, EventListener, ProviderDeclaration } from '@modelport/core';
import { LazyProviderRegistry, Modelport, readDeclaration } from '@modelport/core';
import { ContainerModuleHost } from '@modelport/core/di';
import type { AzureEmulatorOptions, RunningAzurite } from '@modelport/testkit';
import { AzureEmulator, startAzurite } from '@modelport/testkit';
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

/** A TokenCredential that hands out a fake token: the SDK's bearer policy runs unchanged. */
export class FakeCredential implements TokenCredential {
  requests = 0;
  async getToken(): Promise<AccessToken> {
    this.requests++;
    return { token: 'fake-token-for-the-emulator', expiresOnTimestamp: Date.now() + 3600_000 };
  }
}

export interface Harness {
  emulator: AzureEmulator;
  azurite: RunningAzurite;
  dir: string;
  factory: DefaultAzureClientFactory;
  options: AzureProviderOptions;
  modelport(extra?: {
    onEvent?: EventListener;
    engine?: Omit<EngineOptions, 'onEvent' | 'signal'>;
  }): Modelport;
  /** Copies an example manifest into the temp folder with edits (each must match); paths made absolute. */
  manifest(example: string, file: string, edits?: readonly [string | RegExp, string][]): Promise<string>;
  stop(): Promise<void>;
}

export const FAST_ENGINE: Omit<EngineOptions, 'onEvent' | 'signal'> = {
  retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 50 },
};

export async function startHarness(
  options: AzureEmulatorOptions & {
    client?: Partial<AzureClientConfig>;
    provider?: Partial<AzureProviderOptions>;
  } = {},
): Promise<Harness> {
  const azurite = await startAzurite();
  const emulator = new AzureEmulator({ storage: azurite, ...options });
  try {
    await emulator.start();
  } catch (error) {
    await azurite.stop();
    throw error;
  }
  const dir = await mkdtemp(join(tmpdir(), 'modelport-azure-test-'));
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
  return {
    emulator,
    azurite,
    dir,
    factory,
    options: providerOptions,
    modelport: (extra = {}) => modelportWith(factory, providerOptions, extra),
    manifest: (example, file, edits = []) => copyExample(dir, example, file, edits),
    /** Stops everything, then fails if any request of the whole file broke the ARM schema. */
    async stop() {
      await emulator.stop();
      await azurite.stop();
      await rm(dir, { recursive: true, force: true });
      emulator.assertNoViolations();
    },
  };
}

export function modelportWith(
  factory: DefaultAzureClientFactory,
  options: AzureProviderOptions,
  extra: { onEvent?: EventListener; engine?: Omit<EngineOptions, 'onEvent' | 'signal'> } = {},
): Modelport {
  const declaration = readDeclaration(PACKAGE_DIR, 'builtin') as ProviderDeclaration;
  const host = new ContainerModuleHost();
  host.container.bind(AzureClientFactory).toConstantValue(factory);
  host.container.bind(OptionsToken).toConstantValue(options);
  return new Modelport({
    registry: new LazyProviderRegistry([declaration], host),
    engine: extra.engine ?? FAST_ENGINE,
    ...(extra.onEvent === undefined ? {} : { onEvent: extra.onEvent }),
  });
}

/** Copies an example manifest into `dir` with edits (each must match); the iris paths are made absolute. */
export async function copyExample(
  dir: string,
  example: string,
  file: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  let text = (await readFile(join(EXAMPLES, example), 'utf8'))
    .replace('uri: ../iris/model.onnx', `uri: ${IRIS_MODEL}`)
    .replace('input: ../iris/batch-input', `input: ${join(ROOT, 'examples/iris/batch-input')}`);
  for (const [from, to] of edits) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text)) {
      throw new Error(`examples/azure/${example}: no match for ${String(from)}`);
    }
    text = text.replace(from, to);
  }
  const target = join(dir, file);
  await writeFile(target, text);
  return target;
}
