import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { InvokeResponse } from '@modelport/core';
import { ModelportError } from '@modelport/core';

interface Call {
  port: number;
  path: string;
  contentType: string;
  accept?: string;
  timeoutMs?: number;
}

/** One HTTP call to a local server, with its errors said in modelport's terms. */
export function httpRequest(call: Call & { body: Uint8Array }): Promise<InvokeResponse> {
  return send(call, (req) => req.end(call.body), call.body.byteLength);
}

/** Streams a body that may be large (async payloads) without buffering it. */
export function streamRequest(
  call: Call & { body: AsyncIterable<Uint8Array> | Uint8Array; sizeBytes?: number },
): Promise<InvokeResponse> {
  const body = call.body;
  if (body instanceof Uint8Array) return httpRequest({ ...call, body });
  return send(
    call,
    (req) => {
      void (async () => {
        try {
          for await (const chunk of body) {
            if (!req.write(chunk)) await new Promise((resolveDrain) => req.once('drain', resolveDrain));
          }
          req.end();
        } catch (error) {
          req.destroy(error as Error);
        }
      })();
    },
    call.sizeBytes,
  );
}

function send(
  call: Call,
  write: (req: ReturnType<typeof request>) => void,
  length: number | undefined,
): Promise<InvokeResponse> {
  const started = performance.now();
  return new Promise((resolveResponse, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: call.port,
        path: call.path,
        method: 'POST',
        headers: {
          'content-type': call.contentType,
          ...(call.accept === undefined ? {} : { accept: call.accept }),
          ...(length === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': length }),
        },
        timeout: call.timeoutMs ?? 60_000,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolveResponse({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            contentType: String(res.headers['content-type'] ?? 'application/octet-stream'),
            latencyMs: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new ModelportError(
          'timeout',
          `no answer from 127.0.0.1:${call.port} within ${call.timeoutMs ?? 60_000} ms`,
        ),
      ),
    );
    req.on('error', (error) => {
      if (ModelportError.is(error)) reject(error);
      else if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        reject(
          new ModelportError('unavailable', `nothing is listening on 127.0.0.1:${call.port}`, {
            hint: 'the endpoint is down: check `modelport status` and re-apply',
            retryable: false,
          }),
        );
      } else reject(new ModelportError('unavailable', error.message, { cause: error }));
    });
    write(req);
  });
}

/** True when the server answers its health route within a second. */
export function probeHealth(port: number, path = '/ping'): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolveProbe(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveProbe(false));
    req.end();
  });
}
