import type { LoadedManifest, ProviderContext } from '@modelport/core';
import type { AzureClients } from './client-factory.js';
import type { AzureProviderOptions } from './options.js';
import type { AzureSettings } from './settings.js';

/** Everything one call of the provider works with. */
export interface DeploymentContext {
  manifest: LoadedManifest;
  settings: AzureSettings;
  clients: AzureClients;
  options: AzureProviderOptions;
  ctx: ProviderContext;
}

/** Per-call options of long-running operations: poll at the configured interval, honour cancellation. */
export function lro(dc: DeploymentContext): { updateIntervalInMs: number; abortSignal: AbortSignal } {
  return { updateIntervalInMs: dc.options.pollIntervalMs, abortSignal: dc.ctx.signal };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
