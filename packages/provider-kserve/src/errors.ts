import type { ErrorKind } from '@modelport/core';
import { ModelportError } from '@modelport/core';

/** Kubernetes API status codes → modelport error kinds (the engine retries throttled/unavailable). */
const KINDS: Record<number, ErrorKind> = {
  400: 'invalidInput',
  401: 'auth',
  403: 'auth',
  404: 'notFound',
  409: 'conflict',
  422: 'invalidInput',
  429: 'throttled',
};

interface ApiErrorShape {
  code?: unknown;
  body?: unknown;
}

/** An error from @kubernetes/client-node (ApiException, or a network failure) as a ModelportError. */
export function mapKubeError(error: unknown, what: string): ModelportError {
  if (ModelportError.is(error)) return error;
  const code =
    typeof (error as ApiErrorShape | null)?.code === 'number'
      ? ((error as ApiErrorShape).code as number)
      : undefined;
  if (code === undefined) {
    return new ModelportError(
      'unavailable',
      `${what}: cannot reach the Kubernetes API (${String((error as Error)?.message ?? error)})`,
      {
        cause: error,
        hint: 'check the kubeconfig (KUBECONFIG, extensions.kserve.context) and that the cluster is reachable',
      },
    );
  }
  const status = parseStatus((error as ApiErrorShape).body);
  const kind: ErrorKind = KINDS[code] ?? (code >= 500 ? 'unavailable' : 'internal');
  return new ModelportError(kind, `${what}: ${status.message ?? `HTTP ${code}`}`, {
    cause: error,
    details: { status: code, ...(status.reason === undefined ? {} : { reason: status.reason }) },
    ...(kind === 'auth'
      ? { hint: 'check the kubeconfig credentials and RBAC for inferenceservices.serving.kserve.io' }
      : {}),
  });
}

/** The reason of a Kubernetes Status body (`AlreadyExists`, `Conflict`, ...), when there is one. */
export function statusReason(error: unknown): string | undefined {
  if (ModelportError.is(error)) return error.details?.['reason'] as string | undefined;
  return parseStatus((error as ApiErrorShape | null)?.body).reason;
}

function parseStatus(body: unknown): { message?: string; reason?: string } {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body };
    }
  }
  if (value === null || typeof value !== 'object') return {};
  const { message, reason } = value as { message?: unknown; reason?: unknown };
  return {
    ...(typeof message === 'string' ? { message } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}
