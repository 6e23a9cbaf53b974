import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** An error answer of an emulated service, rendered per protocol (JSON `__type`, restJson header, S3 XML). */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra members of the error body (e.g. ModelError's OriginalStatusCode). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AwsError';
  }
}

export const validation = (message: string): AwsError => new AwsError('ValidationException', message);

/** What a handler answers. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string | NodeJS.ReadableStream;
}

export const json = (value: unknown, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
  body: JSON.stringify(value),
});

export const restJson = (value: unknown, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(value),
});

export const xml = (body: string, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/xml', ...headers },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
});

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function newRequestId(): string {
  return randomUUID();
}

export async function readBody(
  req: NodeJS.ReadableStream,
  limit = Number.POSITIVE_INFINITY,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > limit) throw new AwsError('RequestEntityTooLarge', `the body is over ${limit} bytes`, 413);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** True when the SDK sent the body in `aws-chunked` encoding (streams of unknown length, trailing checksums). */
export function isAwsChunked(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'] ?? '';
  const sha = req.headers['x-amz-content-sha256'] ?? '';
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || String(sha).startsWith('STREAMING-');
}

/**
 * Decodes `aws-chunked` bodies (`<hex size>[;chunk-signature=...]\r\n<data>\r\n ... 0\r\n<trailers>\r\n\r\n`)
 * into the plain payload, streaming: a 1 GB upload never sits in memory. Trailers (the checksum) are kept.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private state: 'header' | 'data' | 'crlf' | 'trailers' | 'done' = 'header';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done' && this.state !== 'trailers') {
      callback(new AwsError('IncompleteBody', 'the aws-chunked body ended early'));
      return;
    }
    callback();
  }

  private drain(): void {
    for (;;) {
      if (this.state === 'data') {
        if (this.pending.length === 0) return;
        const take = Math.min(this.remaining, this.pending.length);
        this.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'crlf';
        continue;
      }
      if (this.state === 'done') {
        this.pending = Buffer.alloc(0);
        return;
      }
      const eol = this.pending.indexOf('\r\n');
      if (eol === -1) return;
      const line = this.pending.subarray(0, eol).toString('latin1');
      this.pending = this.pending.subarray(eol + 2);
      if (this.state === 'crlf') {
        this.state = 'header';
        continue;
      }
      if (this.state === 'header') {
        const size = Number.parseInt(line.split(';')[0] ?? '', 16);
        if (!Number.isFinite(size))
          throw new AwsError('InvalidChunkSize', `bad chunk header ${JSON.stringify(line)}`);
        if (size === 0) this.state = 'trailers';
        else {
          this.remaining = size;
          this.state = 'data';
        }
        continue;
      }
      // trailers
      if (line === '') {
        this.state = 'done';
        continue;
      }
      const colon = line.indexOf(':');
      if (colon > 0) this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
}

/** The AWS service a request is signed for (SigV4 credential scope), e.g. `sagemaker`, `s3`. */
export function signingService(req: IncomingMessage): string | undefined {
  const auth = req.headers['authorization'];
  if (typeof auth !== 'string') return undefined;
  const match = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  return match?.[2];
}

/** Region of the credential scope; the emulator builds ARNs with it. */
export function signingRegion(req: IncomingMessage): string | undefined {
  const auth = req.headers['authorization'];
  if (typeof auth !== 'string') return undefined;
  return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(auth)?.[1];
}

/** Access key of the signature: the emulator checks one is present but never records it. */
export function hasSignature(req: IncomingMessage): boolean {
  return typeof req.headers['authorization'] === 'string' && req.headers['authorization'].startsWith('AWS4-');
}
