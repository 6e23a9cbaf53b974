import type { IncomingMessage } from 'node:http';

import { RequestError } from '../errors.js';

/** A body read that can be cut short (timeout); `complete` tells whether the whole body arrived. */
export interface BodyRead {
  readonly promise: Promise<Buffer>;
  complete: boolean;
  abort(error: Error): void;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(2)} KiB`;
  return `${bytes} bytes`;
}

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit fails before any
 * byte is read; a chunked body fails as soon as it crosses the limit. Nothing past the limit is kept.
 */
export function readBody(req: IncomingMessage, limit: number): BodyRead {
  let settle: { resolve: (b: Buffer) => void; reject: (e: Error) => void };
  const promise = new Promise<Buffer>((resolve, reject) => (settle = { resolve, reject }));
  const read: BodyRead = { promise, complete: false, abort: (e) => finish(e) };
  const tooLarge = (size: string) =>
    new RequestError(`request body ${size} exceeds the limit of ${formatBytes(limit)}`, 'payload_too_large');

  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    queueMicrotask(() => settle.reject(tooLarge(`of ${formatBytes(Number(declared))}`)));
    return read;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      finish(tooLarge('(chunked)'));
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
