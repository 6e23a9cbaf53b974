import type { ErrorKind } from '@modelport/core';
import { ModelportError } from '@modelport/core';

/** What the SDK puts on its errors (ServiceException and network errors alike). */
interface SdkErrorLike {
  name?: string;
  Code?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string; attempts?: number };
  OriginalStatusCode?: number;
  OriginalMessage?: string;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
]);
const NOT_FOUND = new Set([
  'ResourceNotFound',
  'ResourceNotFoundException',
  'NoSuchKey',
  'NoSuchBucket',
  'NotFound',
  'ObjectNotFoundException',
  'NoSuchUpload',
]);
const QUOTA = new Set(['ResourceLimitExceeded', 'LimitExceededException', 'ServiceQuotaExceededException']);
const CONFLICT = new Set([
  'ResourceInUse',
  'ResourceInUseException',
  'ConflictException',
  'ConcurrentUpdateException',
  'BucketNotEmpty',
]);
const AUTH = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'IncompleteSignature',
  'CredentialsProviderError',
  'InvalidAccessKeyId',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'TimeoutError',
]);

/**
 * Translates an SDK error into the core error kinds at the provider's boundary: throttling and 5xx are
 * retryable, validation errors are invalid input (or not found / conflict, by SageMaker's wording), and the
 * AWS request id goes into the details. Credentials never appear: SDK errors do not carry them.
 */
export function mapAwsError(thrown: unknown, what: string): ModelportError {
  if (ModelportError.is(thrown)) return thrown;
  const error = (
    typeof thrown === 'object' && thrown !== null ? thrown : { message: String(thrown) }
  ) as SdkErrorLike;
  const code = error.name ?? error.Code ?? 'Error';
  const message = error.message ?? String(thrown);
  const status = error.$metadata?.httpStatusCode;
  const details: Record<string, unknown> = {
    awsError: code,
    ...(status === undefined ? {} : { httpStatus: status }),
    ...(error.$metadata?.requestId === undefined ? {} : { requestId: error.$metadata.requestId }),
  };
  const cause = withoutResponse(thrown);
  const make = (
    kind: ErrorKind,
    text: string,
    extra: { retryable?: boolean; hint?: string } = {},
  ): ModelportError => new ModelportError(kind, `${what}: ${text}`, { cause, details, ...extra });

  if (code === 'ModelError') {
    return make(
      'invalidInput',
      `the model refused the request (HTTP ${error.OriginalStatusCode ?? '?'}): ${error.OriginalMessage ?? message}`,
      {
        retryable: false,
      },
    );
  }
  if (code === 'ModelNotReadyException') return make('unavailable', message, { retryable: true });
  if (THROTTLING.has(code) || error.$retryable?.throttling === true) {
    return make('throttled', message, {
      retryable: true,
      hint: 'AWS is throttling these calls; modelport retries with backoff',
    });
  }
  if (NOT_FOUND.has(code) || (status === 404 && code !== 'UnknownOperationException')) {
    return make(
      'notFound',
      message,
      code === 'NoSuchBucket' ? { hint: 'create the bucket named in spec.extensions.aws.bucket first' } : {},
    );
  }
  if (QUOTA.has(code))
    return make('quota', message, {
      hint: 'ask for a quota increase in Service Quotas, or use a smaller instance type',
    });
  if (CONFLICT.has(code)) return make('conflict', message);
  if (AUTH.has(code) || status === 403) {
    return make('auth', message, {
      hint: 'check the AWS credentials (default provider chain: environment, shared config or SSO profile, instance role) and their IAM permissions',
    });
  }
  if (
    code === 'ValidationException' ||
    code === 'ValidationError' ||
    code === 'InvalidParameterValueException' ||
    code === 'ClientException'
  ) {
    if (/could not find|not found|does not exist/i.test(message)) return make('notFound', message);
    if (/already exist|must be unique/i.test(message)) return make('conflict', message);
    // An endpoint that is still creating or updating: waiting and trying again is the fix.
    if (/in-progress|in progress|is not in service|while it is/i.test(message))
      return make('conflict', message, { retryable: true });
    return make('invalidInput', message);
  }
  if (NETWORK.has(code) || (error.code !== undefined && NETWORK.has(error.code))) {
    return make('unavailable', message, { retryable: true });
  }
  if (error.$fault === 'server' || (status !== undefined && status >= 500))
    return make('unavailable', message, { retryable: true });
  if (status !== undefined && status >= 400) return make('invalidInput', message);
  return make('internal', message);
}

/**
 * The SDK error without its raw `$response`: that holds the signed request (the access key id and the
 * signature in its headers) and sockets, which must not end up in logs or JSON output through `cause`.
 */
function withoutResponse(thrown: unknown): unknown {
  if (!(thrown instanceof Error) || !('$response' in thrown)) return thrown;
  const copy = new Error(thrown.message);
  copy.name = thrown.name;
  for (const key of ['$fault', '$metadata', 'Code', 'OriginalStatusCode', 'OriginalMessage'] as const) {
    const value = (thrown as unknown as Record<string, unknown>)[key];
    if (value !== undefined) (copy as unknown as Record<string, unknown>)[key] = value;
  }
  if (thrown.stack !== undefined) copy.stack = thrown.stack;
  return copy;
}

/** Runs one SDK call, translating what it throws. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw mapAwsError(error, what);
  }
}

/** True when an SDK error (or a mapped one) says the thing does not exist. */
export function isNotFound(error: unknown): boolean {
  return ModelportError.is(error, 'notFound') || mapAwsError(error, '').kind === 'notFound';
}
