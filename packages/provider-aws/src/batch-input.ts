import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import type { _Object } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DesiredResource, LoadedBatchJob, ObservedResource, PlanAction } from '@modelport/core';
import { hashedInputFiles, ModelportError, specHash, uriScheme } from '@modelport/core';
import { listAll, observeTaggedObject } from './s3-objects.js';
import type { DeploymentContext } from './deployment-context.js';
import { call } from './errors.js';
import { RT } from './resource-types.js';
import type { AwsSettings } from './settings.js';
import { ownTags, parseS3Uri, s3Uri } from './settings.js';

/** Where a batch job reads: an S3 prefix as given, or a local folder modelport uploads (by content hash). */
export interface BatchInput {
  uri: string;
  /** Local files to upload, when the manifest names a folder on this machine. */
  upload?: { dir: string; files: { name: string; sha256: string }[] };
}

export async function batchInput(manifest: LoadedBatchJob, settings: AwsSettings): Promise<BatchInput> {
  const input = manifest.manifest.spec.batch.input;
  if (uriScheme(input) === 's3') return { uri: input.endsWith('/') ? input : `${input}/` };
  if (uriScheme(input) !== 'file') {
    throw new ModelportError('invalidInput', `AWS batch jobs read from S3 or a local folder, not ${input}`);
  }
  const dir = isAbsolute(input) ? input : resolve(manifest.baseDir, input);
  const files = await hashedInputFiles(dir);
  const key = `${settings.prefix}/${settings.name}/batch-input/${specHash(files)}/`;
  return { uri: s3Uri(settings.bucket, key), upload: { dir, files } };
}

export function inputResource(input: BatchInput): DesiredResource | undefined {
  if (input.upload === undefined) return undefined;
  return { type: RT.batchInput, name: input.uri, properties: { uri: input.uri }, immutable: ['uri'] };
}

/** Uploaded input folders of this job: the prefix's objects, grouped by content-hash folder, read by tags. */
export async function observeInputs(dc: DeploymentContext): Promise<ObservedResource[]> {
  const prefix = `${dc.settings.prefix}/${dc.settings.name}/batch-input/`;
  const objects = await listAll(dc, dc.settings.bucket, prefix);
  const folders = new Map<string, _Object>();
  for (const o of objects) {
    const folder = o.Key?.slice(0, o.Key.indexOf('/', prefix.length) + 1);
    if (folder !== undefined && folder.length > prefix.length && !folders.has(folder)) folders.set(folder, o);
  }
  const found = await Promise.all(
    [...folders].flatMap(([folder, first]) =>
      first.Key === undefined
        ? []
        : [
            observeTaggedObject(dc, {
              type: RT.batchInput,
              uri: s3Uri(dc.settings.bucket, folder),
              key: first.Key,
            }),
          ],
    ),
  );
  return found.filter((r): r is ObservedResource => r !== undefined);
}

export async function uploadInput(
  dc: DeploymentContext,
  action: PlanAction,
  input: BatchInput,
): Promise<void> {
  if (input.upload === undefined) return;
  const { bucket, key } = parseS3Uri(input.uri);
  for (const file of input.upload.files) {
    const path = join(input.upload.dir, file.name);
    dc.ctx.progress(`uploading ${file.name} to ${input.uri}`);
    await call(`upload ${file.name}`, async () =>
      new Upload({
        client: dc.clients.s3,
        partSize: dc.options.partSizeBytes,
        queueSize: dc.options.uploadQueueSize,
        params: {
          Bucket: bucket,
          Key: `${key}${file.name}`,
          Body: createReadStream(path),
          ContentLength: (await stat(path)).size,
          Tagging: new URLSearchParams(ownTags(dc.settings, action.specHash)).toString(),
        },
      }).done(),
    );
  }
}

export async function deletePrefix(dc: DeploymentContext, uri: string): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  for (const object of await listAll(dc, bucket, key)) {
    await call(`delete ${object.Key ?? ''}`, () =>
      dc.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key })),
    );
  }
}

/** Downloads the `.out` files of a finished job into a local folder (names as the local provider writes them). */
export async function downloadOutputs(
  dc: DeploymentContext,
  uri: string,
  localDir: string,
): Promise<string[]> {
  const { bucket, key } = parseS3Uri(uri);
  const written: string[] = [];
  for (const object of await listAll(dc, bucket, key)) {
    const name = object.Key?.slice(key.length) ?? '';
    if (name === '' || name.endsWith('/')) continue;
    const target = join(localDir, name);
    await mkdir(dirname(target), { recursive: true });
    const got = await call(`download ${name}`, () =>
      dc.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key })),
    );
    await pipeline(got.Body as NodeJS.ReadableStream, createWriteStream(target));
    written.push(target);
  }
  return written;
}
