import { ModelportError } from '../errors.js';
import { sleep } from './retry.js';

export interface WaitOptions {
  /** Time between polls. */
  intervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** What is being waited for, for the timeout message ("endpoint iris to be InService"). */
  what: string;
}

/** Polls until `done` says so; throws a `timeout` ModelportError naming what it waited for. */
export async function waitFor<T>(
  poll: () => Promise<T>,
  done: (value: T) => boolean,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await poll();
    if (done(value)) return value;
    if (Date.now() + options.intervalMs > deadline) {
      throw new ModelportError(
        'timeout',
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.what}`,
        {
          retryable: false,
          hint: 'raise the wait timeout, or check the resource with `modelport status`',
        },
      );
    }
    await sleep(options.intervalMs, options.signal);
  }
}

/**
 * `waitFor` with a provider's poll interval and wait timeout, reporting each new status (`describe` of the
 * polled value) as progress `what: status` until `settled` says so.
 */
export async function waitReporting<T>(
  ctx: { signal: AbortSignal; progress(message: string): void },
  timing: { pollIntervalMs: number; waitTimeoutMs: number },
  what: string,
  poll: () => Promise<T>,
  describe: (value: T) => string,
  settled: (value: T) => boolean,
): Promise<T> {
  let last: string | undefined;
  return waitFor(
    async () => {
      const value = await poll();
      const status = describe(value);
      if (status !== last) {
        ctx.progress(`${what}: ${status}`);
        last = status;
      }
      return value;
    },
    settled,
    { intervalMs: timing.pollIntervalMs, timeoutMs: timing.waitTimeoutMs, signal: ctx.signal, what },
  );
}
