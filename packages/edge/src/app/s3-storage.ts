// Amazon S3 for the serving image (bundled on its own as app/s3.mjs, imported only when an s3:// location
// is given, so `serve` never loads the SDK): the model of an AWS Batch job (s3://…/model.tar.gz or an .onnx
// object) and its input and output files. The SDK's defaults do the rest: credentials from its default
// chain (environment, ECS/AWS Batch container credentials from AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
// _FULL_URI, web identity, instance profile), the endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';

import { Upload } from '@aws-sdk/lib-storage';

import { readTarGz } from '../archive/read-tar.js';

/** Files up to this size are one PutObject; larger ones a multipart upload of parts this size. */
export const UPLOAD_PART_BYTES = 64 * 1024 * 1024;

export interface S3Location {
  bucket: string;
  key: string;
}

export interface S3ObjectInfo {
  key: string;
  size: number;
  etag: string;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) throw new Error(`${uri}: expected s3://<bucket>/<key or prefix>`);
  return { bucket: match[1] as string, key: match[2] as string };
}

export function s3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/** The client settings the environment asks for. */
export function s3ClientConfig(env: NodeJS.ProcessEnv): S3ClientConfig {
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
  const endpoint = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'];
  return {
    // The SDK reads AWS_REGION itself, not AWS_DEFAULT_REGION (which the AWS CLI and ECS also set).
    ...(region ? { region } : {}),
    // The SDK would take the endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL of process.env on its
    // own (given here, `env` is the one that counts), but it addresses buckets virtual-host style
    // (bucket.host) unless the host is an IP address: S3-compatible stores and emulators (localhost, a
    // service name) want path style.
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    followRegionRedirects: true,
  };
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return e?.name !== undefined && e.name !== 'Error' ? `${e.name}: ${e.message ?? ''}` : String(e?.message);
}

export interface S3StoreOptions {
  /** Multipart threshold and part size; default UPLOAD_PART_BYTES (S3's least part size is 5 MiB). */
  partBytes?: number;
}

export class S3Store {
  private readonly client: S3Client;
  private readonly partBytes: number;

  constructor(env: NodeJS.ProcessEnv = process.env, options: S3StoreOptions = {}) {
    this.partBytes = options.partBytes ?? UPLOAD_PART_BYTES;
    // The image pins its Node: the SDK's notice that its next versions need a newer one is not for users.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    if (!(env['AWS_REGION'] || env['AWS_DEFAULT_REGION'])) {
      throw new Error('an s3:// location needs a region: set AWS_REGION (or AWS_DEFAULT_REGION)');
    }
    this.client = new S3Client(s3ClientConfig(env));
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new Error(`${what}: ${describe(error)}`, { cause: error });
    }
  }

  /** Objects whose keys start with `prefix`; with `delimiter`, only those not in a sub-"folder". */
  async list(bucket: string, prefix: string, delimiter?: string): Promise<S3ObjectInfo[]> {
    const found: S3ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`listing s3://${bucket}/${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        found.push({ key: object.Key, size: object.Size ?? 0, etag: object.ETag ?? '' });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found;
  }

  async head(location: S3Location): Promise<S3ObjectInfo | undefined> {
    try {
      const answer = await this.client.send(
        new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }),
      );
      return { key: location.key, size: answer.ContentLength ?? 0, etag: answer.ETag ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading ${s3Uri(location)}: ${describe(error)}`, { cause: error });
    }
  }

  /** Streams an object to `path` through `<path>.partial`: a cut download never looks complete. */
  async download(location: S3Location, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial`;
    try {
      const answer = await this.call(`downloading ${s3Uri(location)}`, () =>
        this.client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key })),
      );
      if (answer.Body === undefined) throw new Error(`${s3Uri(location)}: no body`);
      await pipeline(answer.Body as Readable, createWriteStream(partial));
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  /** The object's text, or undefined when there is none. */
  async getText(location: S3Location): Promise<string | undefined> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: location.bucket, Key: location.key }),
      );
      return (await answer.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading ${s3Uri(location)}: ${describe(error)}`, { cause: error });
    }
  }

  /**
   * Uploads a file: one PutObject when small, else a multipart upload (parts of 64 MiB, 4 at a time), so
   * outputs past PutObject's 5 GB limit go too; a failed multipart upload is aborted.
   */
  async upload(path: string, location: S3Location, contentType: string): Promise<void> {
    const { size } = await stat(path);
    await this.call(`uploading ${s3Uri(location)}`, async () => {
      if (size <= this.partBytes) {
        await this.client.send(
          new PutObjectCommand({
            Bucket: location.bucket,
            Key: location.key,
            Body: createReadStream(path),
            ContentLength: size,
            ContentType: contentType,
          }),
        );
        return;
      }
      await new Upload({
        client: this.client,
        params: {
          Bucket: location.bucket,
          Key: location.key,
          Body: createReadStream(path),
          ContentType: contentType,
        },
        partSize: this.partBytes,
        queueSize: 4,
        leavePartsOnError: false,
      }).done();
    });
  }

  async putText(location: S3Location, text: string, contentType: string): Promise<void> {
    await this.call(`writing ${s3Uri(location)}`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          Body: text,
          ContentType: contentType,
        }),
      ),
    );
  }

  async delete(location: S3Location): Promise<void> {
    await this.call(`deleting ${s3Uri(location)}`, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: location.bucket, Key: location.key })),
    );
  }

  close(): void {
    this.client.destroy();
  }
}

/**
 * Downloads a model named by an s3:// URI into `dir` and returns the local path to look for the .onnx
 * file in (a file or a folder): an .onnx object (and the signature.json beside it, when there is one);
 * a .tar.gz/.tgz/.tar archive (SageMaker's model.tar.gz), extracted; or a prefix (a trailing '/', or a
 * key that is no object), every object under it.
 */
export async function downloadModel(uri: string, dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const location = parseS3Uri(uri);
  const store = new S3Store(env);
  try {
    const object = location.key === '' || location.key.endsWith('/') ? undefined : await store.head(location);
    if (object === undefined) {
      const prefix = location.key === '' || location.key.endsWith('/') ? location.key : `${location.key}/`;
      const objects = (await store.list(location.bucket, prefix)).filter((o) => !o.key.endsWith('/'));
      if (objects.length === 0) throw new Error(`${uri}: no such object, and no objects under it`);
      const target = join(dir, 'model');
      for (const o of objects) {
        const local = safeJoin(target, o.key.slice(prefix.length), `s3://${location.bucket}/${o.key}`);
        await store.download({ bucket: location.bucket, key: o.key }, local);
      }
      return target;
    }
    const name = basename(location.key);
    if (/\.(tar\.gz|tgz|tar)$/i.test(name)) {
      const archive = join(dir, name);
      await store.download(location, archive);
      const target = join(dir, 'model');
      await extractModelArchive(archive, target);
      await rm(archive, { force: true });
      return target;
    }
    const target = join(dir, 'model');
    const local = join(target, name);
    await store.download(location, local);
    const signatureKey = posix.join(posix.dirname(location.key), 'signature.json');
    if ((await store.head({ bucket: location.bucket, key: signatureKey })) !== undefined) {
      await store.download({ bucket: location.bucket, key: signatureKey }, join(target, 'signature.json'));
    }
    return local;
  } finally {
    store.close();
  }
}

function safeJoin(root: string, relative: string, what: string): string {
  const destination = resolve(root, relative);
  if (
    relative === '' ||
    relative.startsWith('/') ||
    relative.includes('\0') ||
    relative.split('/').includes('..') ||
    !destination.startsWith(resolve(root) + sep)
  ) {
    throw new Error(`refusing ${what}: its path ${JSON.stringify(relative)} leaves the model folder`);
  }
  return destination;
}

/**
 * Extracts a model archive: files and folders only (links are skipped: one extracted first could point a
 * later entry anywhere), never outside `target`.
 */
export async function extractModelArchive(archive: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await readTarGz(archive, async (entry) => {
    if (entry.type === 'directory') {
      await mkdir(safeJoin(target, entry.path, `archive entry in ${archive}`), { recursive: true });
      entry.stream.resume();
      return;
    }
    if (entry.type !== 'file') {
      entry.stream.resume();
      return;
    }
    const destination = safeJoin(target, entry.path, `archive entry in ${archive}`);
    await mkdir(dirname(destination), { recursive: true });
    await pipeline(entry.stream as unknown as Readable, createWriteStream(destination, { flags: 'wx' }));
  });
}
