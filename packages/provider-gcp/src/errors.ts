import type { ErrorKind } from '@modelport/core';
import { ModelportError } from '@modelport/core';

/** gRPC status codes (google.rpc.Code), as google-gax puts them on its errors. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const KINDS: Record<number, { kind: ErrorKind; retryable: boolean; hint?: string }> = {
  [Code.CANCELLED]: { kind: 'timeout', retryable: true },
  [Code.UNKNOWN]: { kind: 'unavailable', retryable: true },
  [Code.INVALID_ARGUMENT]: { kind: 'invalidInput', retryable: false },
  [Code.DEADLINE_EXCEEDED]: { kind: 'timeout', retryable: true },
  [Code.NOT_FOUND]: { kind: 'notFound', retryable: false },
  [Code.ALREADY_EXISTS]: {
    kind: 'conflict',
    retryable: false,
    hint: "a resource of that id exists but is not this deployment's: rename the deployment or remove it",
  },
  [Code.PERMISSION_DENIED]: {
    kind: 'auth',
    retryable: false,
    hint: 'the Application Default Credentials lack a permission (roles/aiplatform.user and storage.objectAdmin on the bucket), or the API is not enabled in the project',
  },
  [Code.RESOURCE_EXHAUSTED]: {
    kind: 'throttled',
    retryable: true,
    hint: 'a Vertex AI quota or rate limit was hit: retry later, or ask for more quota (machine types and GPUs have per-region quotas)',
  },
  [Code.FAILED_PRECONDITION]: { kind: 'conflict', retryable: false },
  [Code.ABORTED]: { kind: 'conflict', retryable: true },
  [Code.OUT_OF_RANGE]: { kind: 'invalidInput', retryable: false },
  [Code.UNIMPLEMENTED]: { kind: 'capability', retryable: false },
  [Code.INTERNAL]: { kind: 'unavailable', retryable: true },
  [Code.UNAVAILABLE]: {
    kind: 'unavailable',
    retryable: true,
    hint: 'Vertex AI is unavailable for now: retry',
  },
  [Code.DATA_LOSS]: { kind: 'internal', retryable: false },
  [Code.UNAUTHENTICATED]: {
    kind: 'auth',
    retryable: false,
    hint: 'no valid Application Default Credentials: run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS',
  },
};

interface GaxErrorLike {
  code?: number | string;
  details?: string;
  message?: string;
  statusDetails?: unknown;
}

/** The gRPC code of an error from google-gax (or the HTTP status of one from @google-cloud/storage). */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as GaxErrorLike | undefined)?.code;
  if (typeof code !== 'number') return undefined;
  // GCS answers HTTP statuses.
  if (code >= 400) {
    if (code === 404) return Code.NOT_FOUND;
    if (code === 409 || code === 412) return Code.ALREADY_EXISTS;
    if (code === 429) return Code.RESOURCE_EXHAUSTED;
    if (code === 401) return Code.UNAUTHENTICATED;
    if (code === 403) return Code.PERMISSION_DENIED;
    if (code === 400) return Code.INVALID_ARGUMENT;
    return Code.UNAVAILABLE;
  }
  return code;
}

export function isNotFound(error: unknown): boolean {
  return grpcCode(error) === Code.NOT_FOUND || ModelportError.is(error, 'notFound');
}

export function isAlreadyExists(error: unknown): boolean {
  const cause = ModelportError.is(error) ? error.cause : error;
  return grpcCode(cause) === Code.ALREADY_EXISTS;
}

/** Translates an SDK error into a ModelportError naming what was being done (never credentials). */
export function mapGcpError(error: unknown, what: string): ModelportError {
  if (ModelportError.is(error)) return error;
  const e = (error ?? {}) as GaxErrorLike;
  const code = grpcCode(error);
  const detail = e.details ?? e.message ?? String(error);
  if (code === undefined) {
    const network = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up/.test(detail);
    return new ModelportError(network ? 'unavailable' : 'internal', `${what}: ${detail}`, {
      retryable: network,
      cause: error,
    });
  }
  const mapped = KINDS[code] ?? { kind: 'internal' as const, retryable: false };
  return new ModelportError(mapped.kind, `${what}: ${detail}`, {
    retryable: mapped.retryable,
    cause: error,
    details: { grpcCode: code },
    ...(mapped.hint === undefined ? {} : { hint: mapped.hint }),
  });
}

/**
 * Runs one SDK call and translates its errors. Reads (`idempotent`) are retried here on retryable errors
 * (plans read outside the engine's retries); writes are retried by the engine, which knows the action.
 */
export async function call<T>(what: string, fn: () => Promise<T>, idempotent = false): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const mapped = mapGcpError(error, what);
      if (!idempotent || !mapped.retryable || attempt >= 4) throw mapped;
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}
