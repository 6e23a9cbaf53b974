import { positiveFromEnv } from '@modelport/core';

/** How the provider waits and uploads; tests make the polls fast, production keeps the defaults. */
export interface AwsProviderOptions {
  /** Time between Describe calls while waiting for a status (default 10 s). */
  pollIntervalMs: number;
  /** Longest wait for an endpoint or job to settle (default 60 min). */
  waitTimeoutMs: number;
  /** Multipart part size for async payloads and artifacts (default 8 MiB; S3's minimum is 5 MiB). */
  partSizeBytes: number;
  /** Parts uploaded at once (memory held is about partSize × queueSize). */
  uploadQueueSize: number;
}

export const DEFAULT_OPTIONS: AwsProviderOptions = {
  pollIntervalMs: 10_000,
  waitTimeoutMs: 60 * 60_000,
  partSizeBytes: 8 * 1024 * 1024,
  uploadQueueSize: 2,
};

/**
 * Options from the environment: MODELPORT_AWS_POLL_MS, MODELPORT_AWS_WAIT_TIMEOUT_S (how the CLI and the
 * end-to-end tests set them; a program can bind its own AwsProviderOptions instead).
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsProviderOptions {
  return {
    ...DEFAULT_OPTIONS,
    pollIntervalMs: positiveFromEnv(env, 'MODELPORT_AWS_POLL_MS', DEFAULT_OPTIONS.pollIntervalMs),
    waitTimeoutMs:
      positiveFromEnv(env, 'MODELPORT_AWS_WAIT_TIMEOUT_S', DEFAULT_OPTIONS.waitTimeoutMs / 1000) * 1000,
  };
}
