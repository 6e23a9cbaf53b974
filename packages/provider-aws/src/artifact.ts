import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type {
  DesiredResource,
  LoadedManifest,
  ModelSignature,
  ObservedResource,
  PlanAction,
} from '@modelport/core';
import { localModelUpload, uriScheme } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { call } from './errors.js';
import { RT } from './resource-types.js';
import type { AwsSettings } from './settings.js';
import { ownTags, parseS3Uri, s3Uri } from './settings.js';
import { listAll, observeTaggedObject } from './s3-objects.js';
import { writeTarGz } from './tar-writer.js';

/** Where SageMaker finds the model: a model.tar.gz (ModelDataUrl) or one uncompressed S3 object. */
export interface ModelData {
  modelDataUrl?: string;
  uncompressedUri?: string;
  /** File name of the model inside model.tar.gz or /opt/ml/model. */
  modelFile?: string;
  /** Set when modelport packages and uploads a local model file itself. */
  upload?: { localPath: string; signature?: ModelSignature };
}

/**
 * Where the model artifact of a manifest lives on S3. A local file is packed as `model.tar.gz` (with the
 * declared signature beside it) under a key that holds a hash of its content, so a changed model is a new
 * object (created before the old one is deleted) and an unchanged one is never uploaded twice.
 */
export async function modelData(manifest: LoadedManifest, settings: AwsSettings): Promise<ModelData> {
  const model = manifest.manifest.spec.model;
  if (model.uri === undefined) return {};
  if (uriScheme(model.uri) === 's3') {
    // A model.tar.gz is extracted into /opt/ml/model; a prefix (trailing `/`) is an uncompressed S3Prefix
    // (every object below it lands in /opt/ml/model); any other key is one uncompressed S3Object
    // (/opt/ml/model/<last key segment>): API_S3ModelDataSource.html.
    if (/\.(tar\.gz|tgz)$/.test(model.uri)) return { modelDataUrl: model.uri };
    return model.uri.endsWith('/')
      ? { uncompressedUri: model.uri }
      : { uncompressedUri: model.uri, modelFile: basename(model.uri) };
  }
  const { fileName, hash, upload } = await localModelUpload(manifest.baseDir, model.uri, model.signature);
  const key = `${artifactPrefix(settings)}${hash}/model.tar.gz`;
  return { modelDataUrl: s3Uri(settings.bucket, key), modelFile: fileName, upload };
}

export function artifactPrefix(settings: AwsSettings): string {
  return `${settings.prefix}/${settings.name}/artifacts/`;
}

export function artifactResource(data: ModelData): DesiredResource | undefined {
  if (data.upload === undefined || data.modelDataUrl === undefined) return undefined;
  return {
    type: RT.artifact,
    name: data.modelDataUrl,
    properties: { uri: data.modelDataUrl },
    immutable: ['uri'],
  };
}

/** Artifacts this deployment uploaded, found by listing its prefix and reading each object's tags. */
export async function observeArtifacts(dc: DeploymentContext): Promise<ObservedResource[]> {
  const objects = await listAll(dc, dc.settings.bucket, artifactPrefix(dc.settings));
  const keys = objects.flatMap((o) => (o.Key?.endsWith('/model.tar.gz') === true ? [o.Key] : []));
  const found = await Promise.all(
    keys.map((key) =>
      observeTaggedObject(dc, { type: RT.artifact, uri: s3Uri(dc.settings.bucket, key), key }),
    ),
  );
  return found.filter((r): r is ObservedResource => r !== undefined);
}

/** Packs the model and uploads it (streamed; multipart when large), tagged, in one PutObject for small ones. */
export async function uploadArtifact(
  dc: DeploymentContext,
  action: PlanAction,
  data: ModelData,
): Promise<void> {
  if (data.upload === undefined || data.modelDataUrl === undefined) return;
  const { bucket, key } = parseS3Uri(data.modelDataUrl);
  const dir = await mkdtemp(join(tmpdir(), 'modelport-aws-artifact-'));
  try {
    const archive = join(dir, 'model.tar.gz');
    dc.ctx.progress(`packing ${basename(data.upload.localPath)} as model.tar.gz`);
    await writeTarGz(archive, [
      { name: data.modelFile ?? basename(data.upload.localPath), source: { path: data.upload.localPath } },
      ...(data.upload.signature === undefined
        ? []
        : [{ name: 'signature.json', source: { data: Buffer.from(JSON.stringify(data.upload.signature)) } }]),
    ]);
    const size = (await stat(archive)).size;
    dc.ctx.progress(`uploading ${data.modelDataUrl} (${size} bytes)`);
    await call(`upload ${data.modelDataUrl}`, () =>
      new Upload({
        client: dc.clients.s3,
        partSize: dc.options.partSizeBytes,
        queueSize: dc.options.uploadQueueSize,
        params: {
          Bucket: bucket,
          Key: key,
          Body: createReadStream(archive),
          ContentLength: size,
          ContentType: 'application/gzip',
          // Tags go with the upload itself (S3 allows 10: only modelport's own).
          Tagging: new URLSearchParams(ownTags(dc.settings, action.specHash)).toString(),
          ...(dc.settings.kmsKeyId === undefined
            ? {}
            : { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: dc.settings.kmsKeyId }),
        },
      }).done(),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function deleteArtifact(dc: DeploymentContext, uri: string): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  await call(`delete ${uri}`, () =>
    dc.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
  );
}
