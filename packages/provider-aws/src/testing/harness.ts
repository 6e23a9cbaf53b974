// Test support (not part of the package build): an AwsEmulator on 127.0.0.1 and a Modelport whose AWS
// provider is loaded the way the CLI loads it (package declaration → module), with the real SDK clients
// pointed at the emulator, fake static credentials, fast retries and fast polls.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import type { Modelport } from '@modelport/core';
import type { AwsEmulatorOptions, CloudHarness, ModelportExtra } from '@modelport/testkit';
import {
  AwsEmulator,
  cloudHarness,
  copyExample as copyExampleFrom,
  providerModelport,
  servingImageRegistry,
} from '@modelport/testkit';
import { DefaultAwsClientFactory } from '../client-factory.js';
import type { AwsClientConfig } from '../client-factory.js';
import { DEFAULT_OPTIONS } from '../options.js';
import type { AwsProviderOptions } from '../options.js';
import { AwsClientFactory, AwsProviderOptions as OptionsToken } from '../tokens.js';

// The SDK warns once per process that its next versions need Node 22; tests run on Node 20 on purpose.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const ROOT = join(PACKAGE_DIR, '../..');
export const IRIS_MODEL = join(ROOT, 'examples/iris/model.onnx');
export const EXAMPLES = join(ROOT, 'examples/aws');
export const BUCKET = 'modelport-artifacts-123456789012';
export const REGION = 'us-east-1';
/** The serving image reference of the examples (the account's ECR). */
export const SERVING_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-serving:0.1.0';
export const FAKE_CREDENTIALS = {
  accessKeyId: 'AKIAEMULATOREXAMPLE',
  secretAccessKey: 'emulator-secret-not-real',
};

export type Harness = CloudHarness<AwsEmulator, DefaultAwsClientFactory, AwsProviderOptions>;

export async function startHarness(
  options: AwsEmulatorOptions & {
    client?: Partial<AwsClientConfig>;
    provider?: Partial<AwsProviderOptions>;
  } = {},
): Promise<Harness> {
  // The real serving image (with a decoy model baked in), pushed to the emulated ECR as `modelport image
  // push` pushes it, under the examples' reference.
  const images = options.images ?? (await servingImageRegistry([SERVING_IMAGE]));
  const emulator = new AwsEmulator({ buckets: [BUCKET], healthCheckTimeoutMs: 30_000, ...options, images });
  const { url } = await emulator.start();
  const factory = new DefaultAwsClientFactory({
    endpoint: url,
    credentials: FAKE_CREDENTIALS,
    retryStrategy: new ConfiguredRetryStrategy(3, () => 5),
    ...options.client,
  });
  const providerOptions: AwsProviderOptions = {
    ...DEFAULT_OPTIONS,
    pollIntervalMs: 20,
    waitTimeoutMs: 20_000,
    partSizeBytes: 5 * 1024 * 1024,
    ...options.provider,
  };
  return cloudHarness({
    provider: 'aws',
    examplesDir: EXAMPLES,
    emulator,
    factory,
    options: providerOptions,
    modelport: (extra) => modelportWith(factory, providerOptions, extra),
  });
}

/** A Modelport whose AWS provider (loaded from the package declaration, as the CLI does) uses `factory`. */
export function modelportWith(
  factory: DefaultAwsClientFactory,
  options: AwsProviderOptions,
  extra: ModelportExtra = {},
): Modelport {
  return providerModelport(
    PACKAGE_DIR,
    [
      [AwsClientFactory, factory],
      [OptionsToken, options],
    ],
    extra,
  );
}

/** Copies an AWS example into `dir` with edits (each must match); the iris paths are made absolute. */
export function copyExample(
  dir: string,
  example: string,
  file: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  return copyExampleFrom(EXAMPLES, dir, example, file, edits);
}
