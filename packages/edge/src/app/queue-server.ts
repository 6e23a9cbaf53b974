import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Logger } from '@modelport/runtime';

import type { QueueWorker } from './queue-worker.js';
import { PayloadTooLargeError, type FileSpool } from './spool.js';

export interface QueueServerOptions {
  spool: FileSpool;
  worker: QueueWorker;
  host: string;
  port: number;
  maxPayloadBytes: number;
  logger: Logger;
}

export interface RunningQueueServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * The store-and-forward front of a bundle: `POST /async/invocations` answers 202 with an id as soon as
 * the payload is durably queued (any size up to the limit: streamed to disk, never held in memory);
 * `GET /async/results/<id>` answers 202 while queued or running, then the model's answer.
 */
export async function startQueueServer(options: QueueServerOptions): Promise<RunningQueueServer> {
  const { spool, worker, logger } = options;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'POST' && path === '/async/invocations') {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxPayloadBytes) {
        res.setHeader('connection', 'close');
        return json(res, 413, {
          error: `the payload is larger than ${options.maxPayloadBytes} bytes`,
          code: 'payload_too_large',
        });
      }
      const request: { contentType: string; accept?: string } = {
        contentType: req.headers['content-type'] ?? 'application/json',
      };
      if (req.headers.accept !== undefined) request.accept = req.headers.accept;
      try {
        const meta = await spool.enqueue(req, request, options.maxPayloadBytes);
        worker.wake();
        const location = `/async/results/${meta.id}`;
        return json(
          res,
          202,
          { id: meta.id, state: 'queued', bytes: meta.bytes, result: location },
          { location },
        );
      } catch (error) {
        if (error instanceof PayloadTooLargeError) {
          res.setHeader('connection', 'close');
          return json(res, 413, { error: error.message, code: 'payload_too_large' });
        }
        throw error;
      }
    }
    const result = /^\/async\/results\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && result !== null) {
      const found = await spool.lookup(decodeURIComponent(result[1] ?? ''));
      if (found === undefined) return json(res, 404, { error: 'no such request', code: 'not_found' });
      if (found.result === undefined || found.body === undefined)
        return json(res, 202, { state: found.state });
      res.writeHead(
        found.result.state === 'succeeded' ? 200 : found.result.status >= 400 ? found.result.status : 502,
        {
          'content-type': found.result.contentType,
          'content-length': found.body.length,
          'x-modelport-state': found.result.state,
          'x-modelport-attempts': String(found.result.attempts),
        },
      );
      res.end(found.body);
      return;
    }
    if (req.method === 'GET' && path === '/async/queue') return json(res, 200, await spool.counts());
    if (req.method === 'GET' && path === '/ping') return json(res, 200, { status: 'ready' });
    return json(res, 404, { error: `no route for ${req.method ?? ''} ${path}`, code: 'not_found' });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('queue: request failed', { error });
      if (!res.headersSent) json(res, 500, { error: 'internal error', code: 'internal' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
