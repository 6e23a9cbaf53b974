import { positiveFromEnv } from '@modelport/core';

/** How the provider waits; tests make the polls fast, production keeps the defaults. */
export interface AzureProviderOptions {
  /** Interval of long-running-operation and job polls (default 5 s; the SDK's own default is 2 s). */
  pollIntervalMs: number;
  /** Longest wait for a batch job (default 60 min). */
  waitTimeoutMs: number;
}

export const DEFAULT_OPTIONS: AzureProviderOptions = {
  pollIntervalMs: 5_000,
  waitTimeoutMs: 60 * 60_000,
};

/** Options from MODELPORT_AZURE_POLL_MS and MODELPORT_AZURE_WAIT_TIMEOUT_S. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): AzureProviderOptions {
  return {
    pollIntervalMs: positiveFromEnv(env, 'MODELPORT_AZURE_POLL_MS', DEFAULT_OPTIONS.pollIntervalMs),
    waitTimeoutMs:
      positiveFromEnv(env, 'MODELPORT_AZURE_WAIT_TIMEOUT_S', DEFAULT_OPTIONS.waitTimeoutMs / 1000) * 1000,
  };
}
