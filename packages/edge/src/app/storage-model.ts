// Vertex AI copies a model's artifacts to Cloud Storage and tells a custom container where, in
// AIP_STORAGE_URI (gs://bucket/folder); it mounts nothing. So the serving image fetches the file it serves
// (and the signature beside it) before it starts, over the GCS JSON API with the token of the container's
// service account from the metadata server.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

const GCS_ENDPOINT = 'https://storage.googleapis.com';
const METADATA_TOKEN_URL =
  'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';

export interface StorageModel {
  /** The downloaded ONNX file. */
  path: string;
  /** The signature.json found beside it, parsed. */
  signature?: unknown;
}

export interface StorageModelOptions {
  /** Where to put the files (a fresh folder is made in it). */
  dir: string;
  env: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
}

/**
 * The model to serve from AIP_STORAGE_URI, when the container was given one and `model` (a file name from
 * MODELPORT_MODEL, or nothing) is not a file that exists here. Undefined when there is nothing to fetch.
 * MODELPORT_GCS_ENDPOINT points at another GCS (an emulator: then no token is asked for).
 */
export async function modelFromStorage(
  model: string | undefined,
  options: StorageModelOptions,
): Promise<StorageModel | undefined> {
  const uri = options.env['AIP_STORAGE_URI'];
  if (uri === undefined || uri === '') return undefined;
  if (model !== undefined && (await exists(model))) return undefined;
  const match = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) throw new Error(`AIP_STORAGE_URI ${uri}: expected gs://<bucket>/<folder>`);
  const [, bucket = '', folder = ''] = match;
  const prefix = folder === '' || folder.endsWith('/') ? folder : `${folder}/`;
  const doFetch = options.fetch ?? fetch;
  const custom = options.env['MODELPORT_GCS_ENDPOINT'];
  const endpoint = (custom ?? GCS_ENDPOINT).replace(/\/$/, '');
  const headers: Record<string, string> =
    custom === undefined ? { authorization: `Bearer ${await metadataToken(doFetch)}` } : {};

  const names = await listObjects(doFetch, endpoint, bucket, prefix, headers);
  const wanted = model === undefined ? undefined : `${prefix}${model}`;
  const onnx =
    wanted !== undefined ? names.filter((n) => n === wanted) : names.filter((n) => n.endsWith('.onnx'));
  if (onnx.length !== 1 || onnx[0] === undefined) {
    throw new Error(
      `${uri}: expected ${wanted === undefined ? 'one .onnx file' : wanted.slice(prefix.length)} in the folder, found ${onnx.length === 0 ? 'none' : onnx.join(', ')}`,
    );
  }
  const target = join(options.dir, `model-${randomBytes(4).toString('hex')}`);
  await mkdir(target, { recursive: true });
  const file = onnx[0];
  const path = join(target, file.slice(file.lastIndexOf('/') + 1));
  await download(doFetch, endpoint, bucket, file, headers, path);
  const signatureName = `${file.slice(0, file.lastIndexOf('/') + 1)}signature.json`;
  if (!names.includes(signatureName)) return { path };
  const response = await doFetch(mediaUrl(endpoint, bucket, signatureName), { headers });
  if (!response.ok) throw new Error(`gs://${bucket}/${signatureName}: HTTP ${response.status}`);
  return { path, signature: (await response.json()) as unknown };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function metadataToken(doFetch: typeof fetch): Promise<string> {
  const response = await doFetch(METADATA_TOKEN_URL, { headers: { 'metadata-flavor': 'Google' } });
  if (!response.ok) {
    throw new Error(
      `cannot get a token from the metadata server (HTTP ${response.status}) to read AIP_STORAGE_URI`,
    );
  }
  const body = (await response.json()) as { access_token?: string };
  if (body.access_token === undefined) throw new Error('the metadata server gave no access token');
  return body.access_token;
}

async function listObjects(
  doFetch: typeof fetch,
  endpoint: string,
  bucket: string,
  prefix: string,
  headers: Record<string, string>,
): Promise<string[]> {
  const names: string[] = [];
  let pageToken: string | undefined;
  do {
    const url = new URL(`${endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o`);
    url.searchParams.set('prefix', prefix);
    if (pageToken !== undefined) url.searchParams.set('pageToken', pageToken);
    const response = await doFetch(url, { headers });
    if (!response.ok) throw new Error(`listing gs://${bucket}/${prefix}: HTTP ${response.status}`);
    const page = (await response.json()) as { items?: { name: string }[]; nextPageToken?: string };
    names.push(...(page.items ?? []).map((i) => i.name));
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return names;
}

function mediaUrl(endpoint: string, bucket: string, name: string): string {
  return `${endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`;
}

/** Streams an object to `path` through a temporary file: a partial model is never left to be served. */
async function download(
  doFetch: typeof fetch,
  endpoint: string,
  bucket: string,
  name: string,
  headers: Record<string, string>,
  path: string,
): Promise<void> {
  const response = await doFetch(mediaUrl(endpoint, bucket, name), { headers });
  if (!response.ok || response.body === null)
    throw new Error(`gs://${bucket}/${name}: HTTP ${response.status}`);
  const partial = `${path}.partial`;
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      createWriteStream(partial),
    );
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
