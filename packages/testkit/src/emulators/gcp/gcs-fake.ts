import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** One stored object of the fake GCS. */
export interface GcsObject {
  bucket: string;
  name: string;
  data: Buffer;
  contentType: string;
  /** Custom metadata (`metadata` in the JSON API). */
  metadata: Record<string, string>;
  generation: string;
  created: string;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC32C, base64 big-endian, as GCS reports it (the client library checks it on upload and download). */
export function crc32c(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

class GcsError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * A small fake of the GCS JSON API, as @google-cloud/storage uses it: multipart and resumable uploads,
 * object metadata, media download, list with prefix/delimiter and pages, delete. Buckets exist when named
 * at start (or created by `addBucket`); everything is kept in memory.
 */
export class GcsFake {
  readonly buckets = new Map<string, Map<string, GcsObject>>();
  private readonly sessions = new Map<
    string,
    { bucket: string; name: string; contentType: string; metadata: Record<string, string>; chunks: Buffer[] }
  >();
  private generation = 1;
  /** Write calls (uploads and deletes) and all calls, counted for "no write calls" checks. */
  writes = 0;
  calls = 0;

  constructor(buckets: readonly string[] = []) {
    for (const b of buckets) this.addBucket(b);
  }

  addBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  get(bucket: string, name: string): GcsObject | undefined {
    return this.buckets.get(bucket)?.get(name);
  }

  /** Objects whose name starts with `prefix`, sorted by name. */
  list(bucket: string, prefix = ''): GcsObject[] {
    return [...(this.buckets.get(bucket)?.values() ?? [])]
      .filter((o) => o.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  put(
    bucket: string,
    name: string,
    data: Buffer,
    contentType = 'application/octet-stream',
    metadata: Record<string, string> = {},
  ): GcsObject {
    const objects = this.buckets.get(bucket);
    if (objects === undefined) throw new GcsError(404, 'The specified bucket does not exist.', 'notFound');
    const object: GcsObject = {
      bucket,
      name,
      data,
      contentType,
      metadata,
      generation: String(this.generation++),
      created: new Date().toISOString(),
    };
    objects.set(name, object);
    return object;
  }

  /** Answers a request whose path starts with /storage/v1, /upload/storage/v1 or /download/storage/v1. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    this.calls++;
    try {
      await this.route(req, res, url, body);
    } catch (error) {
      const e =
        error instanceof GcsError ? error : new GcsError(500, (error as Error).message, 'backendError');
      send(res, e.code, {
        error: { code: e.code, message: e.message, errors: [{ reason: e.reason, message: e.message }] },
      });
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/^\/(upload|download)\//, '/');
    const match = /^\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(path);
    if (match === null) throw new GcsError(404, `no route ${method} ${url.pathname}`, 'notFound');
    const bucket = decodeURIComponent(match[1] as string);
    const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    if (!this.buckets.has(bucket))
      throw new GcsError(404, 'The specified bucket does not exist.', 'notFound');
    if (url.pathname.startsWith('/upload/')) return this.upload(req, res, url, bucket, body);
    if (name === undefined) {
      if (method !== 'GET') throw new GcsError(405, `${method} is not allowed`, 'methodNotAllowed');
      return this.listObjects(res, url, bucket);
    }
    const object = this.get(bucket, name);
    if (method === 'DELETE') {
      this.writes++;
      if (object === undefined) throw new GcsError(404, `No such object: ${bucket}/${name}`, 'notFound');
      this.buckets.get(bucket)?.delete(name);
      res.writeHead(204).end();
      return;
    }
    if (object === undefined) throw new GcsError(404, `No such object: ${bucket}/${name}`, 'notFound');
    if (url.searchParams.get('alt') === 'media') {
      res.writeHead(200, {
        'content-type': object.contentType,
        'content-length': object.data.length,
        'x-goog-hash': `crc32c=${crc32c(object.data)},md5=${md5(object.data)}`,
        'x-goog-generation': object.generation,
        'x-goog-stored-content-encoding': 'identity',
      });
      res.end(object.data);
      return;
    }
    send(res, 200, resource(object));
  }

  private listObjects(res: ServerResponse, url: URL, bucket: string): void {
    const prefix = url.searchParams.get('prefix') ?? '';
    const delimiter = url.searchParams.get('delimiter');
    const max = Number(url.searchParams.get('maxResults') ?? 1000);
    const start = url.searchParams.get('pageToken') ?? '';
    const items: Record<string, unknown>[] = [];
    const prefixes = new Set<string>();
    let next: string | undefined;
    for (const object of this.list(bucket, prefix)) {
      if (object.name <= start && start !== '') continue;
      const rest = object.name.slice(prefix.length);
      if (delimiter !== null && rest.includes(delimiter)) {
        prefixes.add(prefix + rest.slice(0, rest.indexOf(delimiter) + delimiter.length));
        continue;
      }
      if (items.length >= max) {
        next = items.at(-1)?.['name'] as string;
        break;
      }
      items.push(resource(object));
    }
    send(res, 200, {
      kind: 'storage#objects',
      items,
      ...(prefixes.size === 0 ? {} : { prefixes: [...prefixes] }),
      ...(next === undefined ? {} : { nextPageToken: next }),
    });
  }

  private upload(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string, body: Buffer): void {
    const type = url.searchParams.get('uploadType');
    const method = req.method ?? 'POST';
    if (type === 'multipart') {
      const boundary = /boundary="?([^";]+)"?/.exec(req.headers['content-type'] ?? '')?.[1];
      if (boundary === undefined) throw new GcsError(400, 'multipart upload without a boundary', 'invalid');
      const [metaPart, mediaPart] = splitMultipart(body, boundary);
      if (metaPart === undefined || mediaPart === undefined)
        throw new GcsError(400, 'multipart upload needs two parts', 'invalid');
      const meta = JSON.parse(metaPart.body.toString('utf8')) as UploadMeta;
      const name = objectName(meta, url);
      this.writes++;
      const object = this.put(
        bucket,
        name,
        mediaPart.body,
        meta.contentType ?? mediaPart.contentType ?? 'application/octet-stream',
        meta.metadata ?? {},
      );
      send(res, 200, resource(object));
      return;
    }
    if (type === 'media') {
      const name = url.searchParams.get('name');
      if (name === null || name === '') throw new GcsError(400, 'Required: object name', 'required');
      this.writes++;
      send(
        res,
        200,
        resource(this.put(bucket, name, body, req.headers['content-type'] ?? 'application/octet-stream')),
      );
      return;
    }
    if (type === 'resumable') {
      const id = url.searchParams.get('upload_id');
      if (id === null && method === 'POST') {
        const meta = (body.length === 0 ? {} : JSON.parse(body.toString('utf8'))) as UploadMeta;
        const name = objectName(meta, url);
        const session = randomUUID();
        this.sessions.set(session, {
          bucket,
          name,
          contentType:
            meta.contentType ?? String(req.headers['x-upload-content-type'] ?? 'application/octet-stream'),
          metadata: meta.metadata ?? {},
          chunks: [],
        });
        const host = req.headers.host ?? '127.0.0.1';
        res.writeHead(200, {
          location: `http://${host}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${session}`,
        });
        res.end();
        return;
      }
      const session = id === null ? undefined : this.sessions.get(id);
      if (session === undefined) throw new GcsError(404, 'No such upload session', 'notFound');
      session.chunks.push(body);
      const range = /bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)/.exec(String(req.headers['content-range'] ?? ''));
      const total = range?.[3];
      const received = session.chunks.reduce((n, c) => n + c.length, 0);
      if (range !== null && (total === '*' || total === undefined || Number(total) > received)) {
        res.writeHead(308, received === 0 ? {} : { range: `bytes=0-${received - 1}` });
        res.end();
        return;
      }
      this.sessions.delete(id as string);
      this.writes++;
      send(
        res,
        200,
        resource(
          this.put(
            session.bucket,
            session.name,
            Buffer.concat(session.chunks),
            session.contentType,
            session.metadata,
          ),
        ),
      );
      return;
    }
    throw new GcsError(400, `uploadType ${type ?? '(none)'} is not supported by the fake`, 'invalid');
  }
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function resource(o: GcsObject): Record<string, unknown> {
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.data.length),
    md5Hash: md5(o.data),
    crc32c: crc32c(o.data),
    timeCreated: o.created,
    updated: o.created,
    storageClass: 'STANDARD',
    ...(Object.keys(o.metadata).length === 0 ? {} : { metadata: o.metadata }),
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function splitMultipart(body: Buffer, boundary: string): { contentType?: string; body: Buffer }[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { contentType?: string; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const chunk = body.subarray(start, next);
    const headerEnd = chunk.indexOf('\r\n\r\n');
    const headers = chunk.subarray(0, headerEnd).toString('utf8');
    let content = chunk.subarray(headerEnd + 4);
    if (content.subarray(-2).toString() === '\r\n') content = content.subarray(0, -2);
    const contentType = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1];
    parts.push({ ...(contentType === undefined ? {} : { contentType }), body: content });
    at = next;
  }
  return parts;
}

/** The JSON metadata part of a multipart or resumable upload. */
interface UploadMeta {
  name?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

/** The object name of an upload: from its metadata, else the `name` parameter; 400 when neither has one. */
function objectName(meta: UploadMeta, url: URL): string {
  const name = meta.name ?? url.searchParams.get('name');
  if (name === undefined || name === null || name === '')
    throw new GcsError(400, 'Required: object name', 'required');
  return name;
}
