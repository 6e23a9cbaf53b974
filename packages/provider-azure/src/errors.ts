import type { ErrorKind } from '@modelport/core';
import { ModelportError } from '@modelport/core';

interface RestLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
}

/** ARM error codes that are not told apart by status alone. */
const CODE_KINDS: Readonly<Record<string, ErrorKind>> = {
  QuotaExceeded: 'quota',
  OperationNotAllowed: 'quota',
  TooManyRequests: 'throttled',
  AuthorizationFailed: 'auth',
  InvalidAuthenticationToken: 'auth',
  AuthenticationFailed: 'auth',
  ResourceNotFound: 'notFound',
  ResourceGroupNotFound: 'notFound',
  Conflict: 'conflict',
};

function kindOfStatus(status: number | undefined): ErrorKind {
  if (status === undefined) return 'unavailable';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'notFound';
  if (status === 408) return 'timeout';
  if (status === 409) return 'conflict';
  if (status === 429) return 'throttled';
  if (status === 424) return 'unavailable';
  if (status >= 500) return 'unavailable';
  return 'invalidInput';
}

const HINTS: Partial<Record<ErrorKind, string>> = {
  auth: 'sign in (az login, a managed identity or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET) with a role on the workspace',
  quota: 'request more quota for this VM family in the region, or choose a smaller compute',
  throttled: 'Azure is throttling: retry later or apply fewer deployments at once',
  notFound: 'check subscriptionId, resourceGroup and workspace under spec.extensions.azure',
};

/**
 * An SDK (RestError) or transport error as a ModelportError, naming the call. Credentials never appear: the
 * message is the service's, the request (with its Authorization header) is dropped.
 */
export function mapAzureError(error: unknown, what: string): ModelportError {
  if (ModelportError.is(error)) return error;
  const e = (error ?? {}) as RestLike;
  // A failed long-running operation arrives as a plain Error: "The long-running operation has failed. <code>. <message>".
  const lro = /^The long-running operation has failed(?:\. ([A-Za-z]+)\.)?/.exec(e.message ?? '');
  const code = e.code ?? lro?.[1];
  const kind =
    (code === undefined ? undefined : CODE_KINDS[code]) ??
    (e.name === 'AbortError' ? 'timeout' : kindOfStatus(e.statusCode));
  const message = `${what}: ${e.message ?? String(error)}`;
  const hint = HINTS[kind];
  return new ModelportError(kind, message, {
    // Provisioning that ended Failed is not transient: applying again would fail the same way.
    ...(lro === null ? {} : { retryable: kind === 'throttled' }),
    cause: { name: e.name, statusCode: e.statusCode, code },
    details: { statusCode: e.statusCode, code },
    ...(hint === undefined ? {} : { hint }),
  });
}

/** Runs one SDK call, mapping its errors. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw mapAzureError(error, what);
  }
}

/** Runs a read; a 404 gives undefined. */
export async function getOrUndefined<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if ((error as RestLike).statusCode === 404) return undefined;
    throw mapAzureError(error, what);
  }
}

/** Collects a paged list (`for await` over the SDK's iterator); a 404 of the parent gives []. */
export async function listAll<T>(what: string, iterable: () => AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  try {
    for await (const item of iterable()) items.push(item);
  } catch (error) {
    if ((error as RestLike).statusCode === 404) return [];
    throw mapAzureError(error, what);
  }
  return items;
}
