import type { LoadedManifest, ProviderContext } from '@modelport/core';
import { waitReporting } from '@modelport/core';
import type { GcpClients } from './client-factory.js';
import { call, mapGcpError } from './errors.js';
import type { GcpProviderOptions } from './options.js';
import type { GcpSettings } from './settings.js';

/** Everything one action or observation of a deployment needs. */
export interface DeploymentContext {
  manifest: LoadedManifest;
  settings: GcpSettings;
  clients: GcpClients;
  options: GcpProviderOptions;
  ctx: ProviderContext;
}

interface OperationLike<T> {
  name?: string | null;
  promise(): Promise<[T, ...unknown[]]>;
}

/**
 * Starts a long-running operation and waits for its result (google-gax polls GetOperation at the
 * provider's interval). An operation that ends in an error is translated like a failed call.
 */
export async function longRunning<T>(
  dc: DeploymentContext,
  what: string,
  start: () => Promise<unknown>,
): Promise<T> {
  const [operation] = (await call(what, start)) as [OperationLike<T>];
  dc.ctx.progress(`${what}: waiting for ${operation.name ?? 'the operation'}`);
  try {
    const [result] = await operation.promise();
    return result;
  } catch (error) {
    const mapped = mapGcpError(error, what);
    FAILED_OPERATIONS.add(mapped);
    throw mapped;
  }
}

// Errors raised by an operation that ended in error (the call itself was accepted): the change may have
// been partly made, unlike a refused call.
const FAILED_OPERATIONS = new WeakSet<object>();

export function isOperationFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && FAILED_OPERATIONS.has(error);
}

/** Polls with the provider's own interval, reporting each new status, until `settled` says so. */
export async function waitUntil<T>(
  dc: DeploymentContext,
  what: string,
  poll: () => Promise<T>,
  describe: (value: T) => string,
  settled: (value: T) => boolean,
): Promise<T> {
  return waitReporting(dc.ctx, dc.options, what, poll, describe, settled);
}
