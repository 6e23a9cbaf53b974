import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OnnxModel, RequestError } from '@modelport/runtime';
import type { EndpointProperties } from '../endpoint-properties.js';
import { asyncDataDir } from '../paths.js';
import { AsyncQueue } from '../state/async-queue.js';
import type { StateStore } from '../state/state-store.js';
import { processAsyncPayload } from './process-payload.js';

const LEASE_MS = 30_000;
const MIB = 1024 * 1024;

/**
 * The background process behind a local async endpoint: accepts requests over HTTP by streaming the
 * body to disk (payloads up to the limit, 1 GB by default, never held in memory), queues them in SQLite
 * and answers 202 at once; worker loops lease requests, run the model and write each result under the
 * request id. An accepted request survives `kill -9`: its row and payload are on disk before the 202.
 */
export async function runAsyncSupervisor(store: StateStore, kind: string, name: string): Promise<void> {
  const row = store.get(kind, name);
  if (row === undefined) throw new Error(`no deployment ${kind}/${name} in ${store.dir}`);
  const properties = row.properties as unknown as EndpointProperties;
  const settings = properties.async;
  if (settings === undefined) throw new Error('async settings missing from the deployment record');

  const dataDir = asyncDataDir(store.dir, name);
  const inbox = join(dataDir, 'in');
  mkdirSync(inbox, { recursive: true });
  mkdirSync(settings.outputDir, { recursive: true });
  const queue = new AsyncQueue(store.db, name);
  // Requests the previous process was working on when it died are redelivered now, not after their lease.
  const recovered = queue.recoverAbandoned();
  if (recovered.requeued + recovered.deadLettered > 0) {
    console.log(JSON.stringify({ level: 'info', msg: 'recovered abandoned requests', ...recovered }));
  }
  const model = await OnnxModel.load(properties.model.path, {
    name,
    ...(properties.signature === undefined ? {} : { signature: properties.signature }),
  });
  const maxBytes = settings.maxPayloadMB * MIB;
  let stopping = false;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => reply(res, 500, { error: (error as Error).message }));
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && (url === '/ping' || url === '/v2/health/ready')) {
      reply(res, stopping ? 503 : 200, { status: stopping ? 'draining' : 'ready', queue: queue.counts() });
      return;
    }
    if (req.method === 'POST' && (url === '/async-invocations' || url === '/invocations')) {
      await accept(req, res);
      return;
    }
    reply(res, 404, {
      error: `no route ${req.method ?? ''} ${url}; async requests go to POST /async-invocations`,
    });
  };

  const accept = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (stopping) {
      reply(res, 503, { error: 'the endpoint is shutting down; retry shortly' });
      return;
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reply(
        res,
        413,
        { error: `payload of ${declared} bytes is above the ${settings.maxPayloadMB} MB limit` },
        true,
      );
      req.resume();
      return;
    }
    const requestId = randomUUID();
    const inputPath = join(inbox, requestId);
    const partial = `${inputPath}.partial`;
    let received = 0;
    try {
      await pipeline(
        req,
        async function* limit(source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            received += chunk.length;
            if (received > maxBytes)
              throw new RequestError(
                `payload is above the ${settings.maxPayloadMB} MB limit`,
                'payload_too_large',
              );
            yield chunk;
          }
        },
        createWriteStream(partial),
      );
      await fsyncFile(partial);
      await rename(partial, inputPath);
    } catch (error) {
      await rm(partial, { force: true });
      const status = error instanceof RequestError ? error.status : 400;
      reply(res, status, { error: `payload not accepted: ${(error as Error).message}` }, true);
      return;
    }
    const contentType =
      String(req.headers['content-type'] ?? 'application/json')
        .split(';')[0]
        ?.trim() ?? 'application/json';
    queue.enqueue({
      id: requestId,
      contentType,
      inputPath,
      outputPath: join(settings.outputDir, `${requestId}.out`),
      maxAttempts: settings.maxRetries + 1,
      ...(settings.queueTtlSeconds === null ? {} : { ttlMs: settings.queueTtlSeconds * 1000 }),
    });
    const id = `local/${name}/${requestId}`;
    res.setHeader('x-modelport-request-id', id);
    reply(res, 202, { id, outputLocation: join(settings.outputDir, `${requestId}.out`), bytes: received });
  };

  const workLoop = async (): Promise<void> => {
    while (!stopping) {
      queue.reap();
      const request = queue.claim(LEASE_MS);
      if (request === undefined) {
        await delay(100);
        continue;
      }
      const heartbeat = setInterval(() => queue.extend(request.id, LEASE_MS), LEASE_MS / 3);
      try {
        await withTimeout(
          processAsyncPayload(model, request.inputPath, request.outputPath, request.contentType),
          settings.timeoutSeconds * 1000,
        );
        queue.complete(request.id);
        await rm(request.inputPath, { force: true });
      } catch (error) {
        // A bad payload fails the same way every time: dead-letter it now. Anything else gets retried.
        if (error instanceof RequestError) queue.fail(request.id, error.message);
        else queue.retry(request.id, (error as Error).message);
      } finally {
        clearInterval(heartbeat);
      }
    }
  };

  const port = properties.port ?? 0;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  store.update(kind, name, {
    pid: process.pid,
    port: boundPort,
    state: 'ready',
    activeGeneration: row.generation,
    message: null,
  });

  const workers = Array.from({ length: settings.workers }, () => workLoop());
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    server.close();
    // Running requests finish; anything not finished keeps its lease and is redelivered later.
    await Promise.race([Promise.all(workers), delay(30_000)]);
    await model.close();
    store.update(kind, name, { state: 'stopped', pid: null });
    store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  // Async endpoints change by replacement; a SIGHUP has nothing to roll out.
  process.on('SIGHUP', () => undefined);
}

function reply(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`processing took longer than ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a result the worker wrote (used by `modelport result`). */
export async function readResult(path: string): Promise<Buffer | undefined> {
  try {
    await stat(path);
    return await readFile(path);
  } catch {
    return undefined;
  }
}
