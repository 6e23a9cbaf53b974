import type { LoadedManifest, ProviderContext } from '@modelport/core';
import { waitReporting } from '@modelport/core';
import type { AwsClients } from './client-factory.js';
import type { AwsProviderOptions } from './options.js';
import type { AwsSettings } from './settings.js';

/** Everything one action or observation of a deployment needs. */
export interface DeploymentContext {
  manifest: LoadedManifest;
  settings: AwsSettings;
  clients: AwsClients;
  options: AwsProviderOptions;
  ctx: ProviderContext;
}

/**
 * Polls with the provider's own interval (the SDK waiters poll no faster than once a second), reporting
 * each new status as progress, until `settled` says so or the wait times out.
 */
export async function waitUntil<T>(
  dc: DeploymentContext,
  what: string,
  poll: () => Promise<T>,
  describe: (value: T) => string,
  settled: (value: T) => boolean,
): Promise<T> {
  return waitReporting(dc.ctx, dc.options, what, poll, describe, settled);
}
