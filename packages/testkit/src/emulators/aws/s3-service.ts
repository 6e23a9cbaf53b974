import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Reply } from './aws-http.js';
import { AwsChunkedDecoder, AwsError, escapeXml, isAwsChunked, xml } from './aws-http.js';
import type { CallContext } from './context.js';

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

export interface S3Object {
  bucket: string;
  key: string;
  /** Where the bytes are: objects live on disk, so 1 GB uploads never sit in memory. */
  path: string;
  size: number;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  lastModified: number;
}

interface MultipartUpload {
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  parts: Map<number, { path: string; size: number; md5: Buffer; etag: string }>;
}

/** Called when an object is created (EventBridge "Object Created" events). */
export type ObjectCreatedListener = (object: S3Object) => void;

/**
 * S3, path-style REST: buckets, objects (stored as files in a temp folder), tags, ListObjectsV2 and
 * multipart uploads whose parts are streamed to disk. Bodies may come `aws-chunked` with trailing checksums.
 */
export class S3Service {
  private readonly buckets = new Map<string, Map<string, S3Object>>();
  private readonly uploads = new Map<string, MultipartUpload>();
  private readonly notifications = new Map<string, boolean>();
  private readonly listeners: ObjectCreatedListener[] = [];
  private counter = 0;

  constructor(private readonly dir: string) {}

  onObjectCreated(listener: ObjectCreatedListener): void {
    this.listeners.push(listener);
  }

  // ------------------------------------------------------------------------ state for tests and services

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  bucketNames(): string[] {
    return [...this.buckets.keys()];
  }

  objects(bucket?: string): S3Object[] {
    const all = [...this.buckets.values()].flatMap((objects) => [...objects.values()]);
    return bucket === undefined ? all : all.filter((o) => o.bucket === bucket);
  }

  get(bucket: string, key: string): S3Object | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  /** Parts of multipart uploads not completed or aborted. */
  openUploads(): number {
    return this.uploads.size;
  }

  /** Stores a file as an object (the emulator's own writes: transform and async outputs, test fixtures). */
  async putFile(
    bucket: string,
    key: string,
    source: string,
    contentType = 'application/octet-stream',
  ): Promise<S3Object> {
    const path = this.newPath();
    await copyFile(source, path);
    const hash = createHash('md5');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const { size } = await stat(path);
    return this.store(bucket, key, path, contentType, {}, {}, size, `"${hash.digest('hex')}"`);
  }

  async putBuffer(
    bucket: string,
    key: string,
    data: Buffer | string,
    contentType = 'application/octet-stream',
  ): Promise<S3Object> {
    const path = this.newPath();
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await writeFile(path, bytes);
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    return this.store(bucket, key, path, contentType, {}, {}, bytes.length, etag);
  }

  /** An `s3://bucket/key` URI split, or undefined. */
  static parseUri(uri: string): { bucket: string; key: string } | undefined {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    return match === null ? undefined : { bucket: match[1] as string, key: match[2] as string };
  }

  // -------------------------------------------------------------------------------------- operations

  async handle(ctx: CallContext): Promise<Reply> {
    const bucket = ctx.labels['Bucket'];
    const key = ctx.labels['Key'];
    switch (ctx.operation) {
      case 'ListBuckets':
        return xml(
          `<ListAllMyBucketsResult ${NS}><Buckets>${this.bucketNames()
            .map(
              (b) =>
                `<Bucket><Name>${escapeXml(b)}</Name><CreationDate>2025-01-01T00:00:00.000Z</CreationDate></Bucket>`,
            )
            .join('')}</Buckets><Owner><ID>emulator</ID></Owner></ListAllMyBucketsResult>`,
        );
      case 'CreateBucket':
        this.createBucket(need(bucket));
        return { status: 200, headers: { location: `/${need(bucket)}` } };
      case 'HeadBucket':
        this.bucket(need(bucket));
        return { status: 200, headers: { 'x-amz-bucket-region': ctx.region } };
      case 'DeleteBucket':
        if (this.bucket(need(bucket)).size > 0)
          throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409);
        this.buckets.delete(need(bucket));
        return { status: 204 };
      case 'PutObject':
        return this.putObject(ctx, need(bucket), need(key));
      case 'GetObject':
        return this.getObject(need(bucket), need(key), false);
      case 'HeadObject':
        return this.getObject(need(bucket), need(key), true);
      case 'DeleteObject':
        this.bucket(need(bucket)).delete(need(key));
        return { status: 204 };
      case 'ListObjectsV2':
        return this.listObjects(ctx, need(bucket));
      case 'GetObjectTagging':
        return xml(
          `<Tagging ${NS}><TagSet>${tagXml(this.object(need(bucket), need(key)).tags)}</TagSet></Tagging>`,
        );
      case 'PutObjectTagging':
        this.object(need(bucket), need(key)).tags = parseTagXml(ctx.body?.toString('utf8') ?? '');
        return { status: 200 };
      case 'DeleteObjectTagging':
        this.object(need(bucket), need(key)).tags = {};
        return { status: 204 };
      case 'CreateMultipartUpload':
        return this.createUpload(ctx, need(bucket), need(key));
      case 'UploadPart':
        return this.uploadPart(ctx);
      case 'CompleteMultipartUpload':
        return this.completeUpload(ctx, need(bucket), need(key));
      case 'AbortMultipartUpload':
        await this.dropUpload(String(ctx.query.get('uploadId')));
        return { status: 204 };
      case 'GetBucketNotificationConfiguration':
        this.bucket(need(bucket));
        return xml(
          `<NotificationConfiguration ${NS}>${this.notifications.get(need(bucket)) === true ? '<EventBridgeConfiguration></EventBridgeConfiguration>' : ''}</NotificationConfiguration>`,
        );
      case 'PutBucketNotificationConfiguration':
        this.bucket(need(bucket));
        this.notifications.set(
          need(bucket),
          (ctx.body?.toString('utf8') ?? '').includes('EventBridgeConfiguration'),
        );
        return { status: 200 };
      default:
        throw new AwsError('NotImplemented', `the emulator does not implement S3 ${ctx.operation}`, 501);
    }
  }

  /** True when the bucket sends "Object Created" events to EventBridge. */
  eventBridgeEnabled(bucket: string): boolean {
    return this.notifications.get(bucket) === true;
  }

  enableEventBridge(bucket: string): void {
    this.notifications.set(bucket, true);
  }

  private async putObject(ctx: CallContext, bucket: string, key: string): Promise<Reply> {
    this.bucket(bucket);
    const { path, size, md5 } = await this.receive(ctx);
    const object = this.store(
      bucket,
      key,
      path,
      header(ctx, 'content-type') ?? 'application/octet-stream',
      metadataOf(ctx),
      parseTagQuery(header(ctx, 'x-amz-tagging')),
      size,
      `"${md5.toString('hex')}"`,
    );
    return { status: 200, headers: { etag: object.etag } };
  }

  private getObject(bucket: string, key: string, head: boolean): Reply {
    const object = this.buckets.get(bucket)?.get(key);
    if (object === undefined) {
      if (!this.buckets.has(bucket))
        throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404);
      throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    }
    const headers: Record<string, string> = {
      'content-type': object.contentType,
      'content-length': String(object.size),
      etag: object.etag,
      'last-modified': new Date(object.lastModified).toUTCString(),
      'accept-ranges': 'bytes',
    };
    for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value;
    if (Object.keys(object.tags).length > 0)
      headers['x-amz-tagging-count'] = String(Object.keys(object.tags).length);
    return head ? { status: 200, headers } : { status: 200, headers, body: createReadStream(object.path) };
  }

  private listObjects(ctx: CallContext, bucket: string): Reply {
    const prefix = ctx.query.get('prefix') ?? '';
    const maxKeys = Math.min(1000, Number(ctx.query.get('max-keys') ?? 1000));
    const token = ctx.query.get('continuation-token');
    const after =
      token === null
        ? (ctx.query.get('start-after') ?? '')
        : Buffer.from(token, 'base64url').toString('utf8');
    const keys = [...this.bucket(bucket).values()]
      .filter((o) => o.key.startsWith(prefix) && o.key > after)
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const last = page[page.length - 1];
    const contents = page
      .map(
        (o) =>
          `<Contents><Key>${escapeXml(o.key)}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified><ETag>${escapeXml(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
      .join('');
    return xml(
      `<ListBucketResult ${NS}><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${
        truncated && last !== undefined
          ? `<NextContinuationToken>${Buffer.from(last.key).toString('base64url')}</NextContinuationToken>`
          : ''
      }</ListBucketResult>`,
    );
  }

  private createUpload(ctx: CallContext, bucket: string, key: string): Reply {
    this.bucket(bucket);
    const uploadId = randomUUID().replace(/-/g, '');
    this.uploads.set(uploadId, {
      bucket,
      key,
      contentType: header(ctx, 'content-type') ?? 'application/octet-stream',
      metadata: metadataOf(ctx),
      tags: parseTagQuery(header(ctx, 'x-amz-tagging')),
      parts: new Map(),
    });
    return xml(
      `<InitiateMultipartUploadResult ${NS}><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
    );
  }

  private async uploadPart(ctx: CallContext): Promise<Reply> {
    const upload = this.upload(String(ctx.query.get('uploadId')));
    const partNumber = Number(ctx.query.get('partNumber'));
    const { path, size, md5 } = await this.receive(ctx);
    const previous = upload.parts.get(partNumber);
    if (previous !== undefined) await rm(previous.path, { force: true });
    const etag = `"${md5.toString('hex')}"`;
    upload.parts.set(partNumber, { path, size, md5, etag });
    return { status: 200, headers: { etag } };
  }

  private async completeUpload(ctx: CallContext, bucket: string, key: string): Promise<Reply> {
    const uploadId = String(ctx.query.get('uploadId'));
    const upload = this.upload(uploadId);
    const listed = [...(ctx.body?.toString('utf8') ?? '').matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map(
      (m) => Number(m[1]),
    );
    if (listed.length === 0)
      throw new AwsError('MalformedXML', 'The XML you provided was not well-formed', 400);
    for (let i = 1; i < listed.length; i++) {
      if ((listed[i] as number) <= (listed[i - 1] as number)) {
        throw new AwsError('InvalidPartOrder', 'The list of parts was not in ascending order.', 400);
      }
    }
    const path = this.newPath();
    const out = createWriteStream(path);
    const md5s: Buffer[] = [];
    let size = 0;
    for (const [index, number] of listed.entries()) {
      const part = upload.parts.get(number);
      if (part === undefined) throw new AwsError('InvalidPart', `part ${number} was not uploaded`, 400);
      if (index < listed.length - 1 && part.size < 5 * 1024 * 1024) {
        throw new AwsError(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          400,
        );
      }
      for await (const bytes of createReadStream(part.path)) {
        if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      md5s.push(part.md5);
      size += part.size;
    }
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}"`;
    await this.dropUpload(uploadId);
    this.store(bucket, key, path, upload.contentType, upload.metadata, upload.tags, size, etag);
    return xml(
      `<CompleteMultipartUploadResult ${NS}><Location>/${escapeXml(bucket)}/${escapeXml(key)}</Location><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><ETag>${escapeXml(etag)}</ETag></CompleteMultipartUploadResult>`,
    );
  }

  private async dropUpload(uploadId: string): Promise<void> {
    const upload = this.uploads.get(uploadId);
    if (upload === undefined) throw new AwsError('NoSuchUpload', 'The specified upload does not exist.', 404);
    this.uploads.delete(uploadId);
    await Promise.all([...upload.parts.values()].map((p) => rm(p.path, { force: true })));
  }

  /** Streams a request body to a new file (decoding aws-chunked), hashing it on the way. */
  private async receive(ctx: CallContext): Promise<{ path: string; size: number; md5: Buffer }> {
    const path = this.newPath();
    const hash = createHash('md5');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const source = ctx.body !== undefined ? [ctx.body] : ctx.req;
    if (isAwsChunked(ctx.req))
      await pipeline(source, new AwsChunkedDecoder(), counter, createWriteStream(path));
    else await pipeline(source, counter, createWriteStream(path));
    const declared = header(ctx, 'x-amz-decoded-content-length');
    if (declared !== undefined && Number(declared) !== size) {
      await rm(path, { force: true });
      throw new AwsError('IncompleteBody', `received ${size} bytes, the request declared ${declared}`, 400);
    }
    return { path, size, md5: hash.digest() };
  }

  private store(
    bucket: string,
    key: string,
    path: string,
    contentType: string,
    metadata: Record<string, string>,
    tags: Record<string, string>,
    size: number,
    etag: string,
  ): S3Object {
    const objects = this.bucket(bucket);
    const previous = objects.get(key);
    if (previous !== undefined && previous.path !== path) void rm(previous.path, { force: true });
    const object: S3Object = {
      bucket,
      key,
      path,
      size,
      etag,
      contentType,
      metadata,
      tags,
      lastModified: Date.now(),
    };
    objects.set(key, object);
    for (const listener of this.listeners) listener(object);
    return object;
  }

  private bucket(name: string): Map<string, S3Object> {
    const objects = this.buckets.get(name);
    if (objects === undefined)
      throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: name });
    return objects;
  }

  private object(bucket: string, key: string): S3Object {
    const object = this.bucket(bucket).get(key);
    if (object === undefined)
      throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    return object;
  }

  private upload(uploadId: string): MultipartUpload {
    const upload = this.uploads.get(uploadId);
    if (upload === undefined) throw new AwsError('NoSuchUpload', 'The specified upload does not exist.', 404);
    return upload;
  }

  private newPath(): string {
    return join(this.dir, `object-${++this.counter}-${randomUUID().slice(0, 8)}`);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }
}

function need(value: string | undefined): string {
  if (value === undefined || value === '') throw new AwsError('InvalidRequest', 'missing bucket or key', 400);
  return value;
}

function header(ctx: CallContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function metadataOf(ctx: CallContext): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string')
      metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return metadata;
}

function parseTagQuery(text: string | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  if (text === undefined || text === '') return tags;
  for (const [key, value] of new URLSearchParams(text)) tags[key] = value;
  return tags;
}

function parseTagXml(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const match of text.matchAll(/<Tag>\s*<Key>([^<]*)<\/Key>\s*<Value>([^<]*)<\/Value>\s*<\/Tag>/g)) {
    tags[unescapeXml(match[1] as string)] = unescapeXml(match[2] as string);
  }
  return tags;
}

function tagXml(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`)
    .join('');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
