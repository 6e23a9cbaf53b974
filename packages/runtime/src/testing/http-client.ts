// A tiny HTTP client for the protocol tests: node:http, so status, headers and connection handling are visible.
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: unknown;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with chunked encoding (no content-length). */
  chunked?: boolean;
  agent?: Agent | false;
}

export function call(base: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined && !opts.chunked)
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = request(
      url,
      {
        method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
        headers,
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export const postJson = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(base, path, {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
