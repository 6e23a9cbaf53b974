import type { IncomingMessage } from 'node:http';

import { RequestError } from '../errors.js';

/** A body read in progress that can be cut short (timeout). */
export interface BodyAbort {
  abort(error: Error): void;
}

/** A body read that can be cut short (timeout); `complete` tells whether the whole body arrived. */
export interface BodyRead extends BodyAbort {
  readonly promise: Promise<Buffer>;
  complete: boolean;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(2)} KiB`;
  return `${bytes} bytes`;
}

function tooLarge(size: string, limit: number): RequestError {
  return new RequestError(
    `request body ${size} exceeds the limit of ${formatBytes(limit)}`,
    'payload_too_large',
  );
}

/** A Content-Length over `limit`: the error to answer before reading any byte. */
export function declaredTooLarge(req: IncomingMessage, limit: number): RequestError | undefined {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit)
    return tooLarge(`of ${formatBytes(Number(declared))}`, limit);
  return undefined;
}

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit fails before any
 * byte is read; a chunked body fails as soon as it crosses the limit. Nothing past the limit is kept.
 */
export function readBody(req: IncomingMessage, limit: number): BodyRead {
  let settle: { resolve: (b: Buffer) => void; reject: (e: Error) => void };
  const promise = new Promise<Buffer>((resolve, reject) => (settle = { resolve, reject }));
  const read: BodyRead = { promise, complete: false, abort: (e) => finish(e) };
  let done = false;

  const refused = declaredTooLarge(req, limit);
  if (refused !== undefined) {
    queueMicrotask(() => settle.reject(refused));
    read.abort = () => undefined;
    return read;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      finish(tooLarge('(chunked)', limit));
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = () => {
    read.complete = true;
    finish(undefined);
  };
  const onAborted = () =>
    finish(new RequestError('the client closed the connection before the body was sent'));
  function finish(error: Error | undefined) {
    if (done) return;
    done = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onAborted);
    req.off('close', onClose);
    if (error !== undefined) {
      chunks.length = 0;
      settle.reject(error);
    } else {
      settle.resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    }
  }
  const onClose = () => {
    if (!read.complete) onAborted();
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onAborted);
  req.on('close', onClose);
  return read;
}

/**
 * A request body read chunk by chunk, at the reader's pace: the request is paused while more than
 * `highWaterBytes` wait to be read, so a slow consumer (inference) holds back the client (TCP
 * backpressure) instead of buffering the whole body. The byte limit applies as in `readBody`.
 */
export class BodyStream implements BodyAbort {
  /** True once the whole body was read. */
  complete = false;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private size = 0;
  private ended = false;
  private error: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    private readonly highWaterBytes = 1024 * 1024,
  ) {
    const refused = declaredTooLarge(req, limit);
    if (refused !== undefined) {
      this.error = refused;
      return;
    }
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('error', this.onAborted);
    req.on('close', this.onClose);
  }

  /** The next chunk, or undefined at the end of the body. */
  async next(): Promise<Buffer | undefined> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queued -= chunk.length;
        if (this.queued < this.highWaterBytes && this.req.isPaused()) this.req.resume();
        return chunk;
      }
      if (this.ended) {
        this.complete = true;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  abort(error: Error): void {
    this.stop(error);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.stop(tooLarge('(chunked)', this.limit));
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= this.highWaterBytes) this.req.pause();
    this.wake();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.detach();
    this.wake();
  };

  private readonly onAborted = (): void =>
    this.stop(new RequestError('the client closed the connection before the body was sent'));

  private readonly onClose = (): void => {
    if (!this.ended) this.onAborted();
  };

  private stop(error: Error): void {
    if (this.error !== undefined || this.ended) return;
    this.error = error;
    this.queue.length = 0;
    this.queued = 0;
    this.detach();
    this.wake();
  }

  private detach(): void {
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('error', this.onAborted);
    this.req.off('close', this.onClose);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
