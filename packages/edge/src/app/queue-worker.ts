import type { Logger } from '@modelport/runtime';

import type { Claimed, FileSpool } from './spool.js';

export interface QueueWorkerOptions {
  spool: FileSpool;
  /** The bundle's model server: queued requests are sent to its /invocations, so they are answered
   * exactly as synchronous ones (JSON, CSV, every input form). */
  serverUrl: string;
  logger: Logger;
  /** Attempts before a request that keeps failing transiently (5xx, connection refused) is failed. */
  maxAttempts?: number;
  /** Delay before retrying after a transient failure. */
  retryDelayMs?: number;
}

/**
 * Works through the spool one request at a time (the device is busy enough: the queue is there so that
 * requests can be accepted while it is). Woken when a request is queued; sleeps when the queue is empty.
 */
export class QueueWorker {
  private running = false;
  private wakeAgain = false;
  private stopped = false;
  private current: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: QueueWorkerOptions) {}

  /** Starts a pass over the queue unless one is running (then that pass looks again when it ends). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeAgain = true;
      return;
    }
    this.running = true;
    this.current = this.drain().finally(() => {
      this.running = false;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  /** Lets the request in progress finish, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.current;
  }

  private async drain(): Promise<void> {
    const { spool, logger } = this.options;
    for (;;) {
      if (this.stopped) return;
      let claimed: Claimed | undefined;
      try {
        claimed = await spool.claim();
      } catch (error) {
        logger.error('queue: cannot claim a request', { error });
        return;
      }
      if (claimed === undefined) return;
      const retry = await this.process(claimed);
      if (retry) {
        // Transient: leave it queued and look again later rather than spin on a struggling server.
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.wake(), this.options.retryDelayMs ?? 1000);
        this.retryTimer.unref();
        return;
      }
    }
  }

  /** Returns true when the request should be retried later. */
  private async process(claimed: Claimed): Promise<boolean> {
    const { spool, logger, serverUrl } = this.options;
    const id = claimed.meta.id;
    const attempt = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, attempt);
    const maxAttempts = this.options.maxAttempts ?? 5;
    let status: number;
    let contentType: string;
    let body: Uint8Array;
    try {
      const headers: Record<string, string> = { 'content-type': claimed.meta.contentType };
      if (claimed.meta.accept !== undefined) headers['accept'] = claimed.meta.accept;
      const response = await fetch(new URL('/invocations', serverUrl), {
        method: 'POST',
        headers,
        body: await spool.body(claimed),
      });
      status = response.status;
      contentType = response.headers.get('content-type') ?? 'application/octet-stream';
      body = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      status = 0;
      contentType = 'text/plain';
      body = Buffer.from(error instanceof Error ? error.message : String(error));
    }
    const transient = status === 0 || status >= 500;
    if (transient && attempt < maxAttempts) {
      logger.warn('queue: transient failure, will retry', { id, status, attempt });
      await spool.release(claimed);
      return true;
    }
    const succeeded = status >= 200 && status < 300;
    const result = {
      state: succeeded ? ('succeeded' as const) : ('failed' as const),
      status,
      contentType,
      attempts: attempt,
    };
    if (!succeeded) Object.assign(result, { error: Buffer.from(body).toString('utf8').slice(0, 2000) });
    await spool.complete(claimed, result, body);
    this.attempts.delete(id);
    logger.info('queue: request done', { id, state: result.state, status, attempts: attempt });
    return false;
  }
}
