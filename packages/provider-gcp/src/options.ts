import { positiveFromEnv } from '@modelport/core';

/** How the provider waits; tests make the polls fast, production keeps the defaults. */
export interface GcpProviderOptions {
  /** Time between polls of a long-running operation or a batch job (default 10 s). */
  pollIntervalMs: number;
  /** Longest wait for an operation or a job (default 60 min: a GPU deployment can take 20+). */
  waitTimeoutMs: number;
}

export const DEFAULT_OPTIONS: GcpProviderOptions = {
  pollIntervalMs: 10_000,
  waitTimeoutMs: 60 * 60_000,
};

/** Options from the environment: MODELPORT_GCP_POLL_MS, MODELPORT_GCP_WAIT_TIMEOUT_S. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): GcpProviderOptions {
  return {
    pollIntervalMs: positiveFromEnv(env, 'MODELPORT_GCP_POLL_MS', DEFAULT_OPTIONS.pollIntervalMs),
    waitTimeoutMs:
      positiveFromEnv(env, 'MODELPORT_GCP_WAIT_TIMEOUT_S', DEFAULT_OPTIONS.waitTimeoutMs / 1000) * 1000,
  };
}
