import { ModelportError, toModelportError } from '../errors.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 15_000 };

/** Exponential backoff with full jitter (AWS architecture blog's recommendation): spreads retry storms. */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Throws the `cancelled` error (`timeout`, not retryable, the abort reason as cause) once `signal` is aborted. */
export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

function abortError(signal: AbortSignal | undefined): ModelportError {
  return new ModelportError('timeout', 'cancelled', { cause: signal?.reason, retryable: false });
}

/** Runs `fn` until it succeeds, a non-retryable error is thrown, or attempts run out. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: {
    policy?: RetryPolicy;
    signal?: AbortSignal;
    onRetry?: (attempt: number, delayMs: number, error: ModelportError) => void;
    random?: () => number;
  } = {},
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (thrown) {
      const error = toModelportError(thrown);
      if (!error.retryable || attempt >= policy.maxAttempts || options.signal?.aborted === true) throw error;
      const delay = backoffDelay(attempt, policy, options.random);
      options.onRetry?.(attempt, delay, error);
      await sleep(delay, options.signal);
    }
  }
}
