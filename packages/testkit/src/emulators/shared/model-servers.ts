// How the emulators forward a platform's request to a model container (the real serving image, started by
// containers.ts) and read its answer.
import { request } from 'node:http';

/** What a model server answered to a POST. */
export interface ModelReply {
  status: number;
  body: Buffer;
  contentType: string;
}

/**
 * POSTs `body` to a model server and buffers its answer (`defaultContentType` when it names none). With
 * `timeout`, the request is cut after `timeout.ms` and rejected with `timeout.error()` (the cloud's wording).
 */
export function postToModel(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
  defaultContentType: string,
  timeout?: { ms: number; error: () => Error },
): Promise<ModelReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 500,
            body: Buffer.concat(chunks),
            contentType: String(res.headers['content-type'] ?? defaultContentType),
          }),
        );
      },
    );
    if (timeout !== undefined) {
      req.setTimeout(timeout.ms, () => {
        req.destroy();
        reject(timeout.error());
      });
    }
    req.on('error', reject);
    req.end(body);
  });
}
