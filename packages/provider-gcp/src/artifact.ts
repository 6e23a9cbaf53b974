import { stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import type {
  DesiredResource,
  LoadedManifest,
  ModelSignature,
  ObservedResource,
  PlanAction,
} from '@modelport/core';
import { DeploymentState, ModelportError, TAGS, localModelUpload, uriScheme } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { call } from './errors.js';
import { isOurs, ownTags } from './labels.js';
import { RT } from './resource-types.js';
import type { GcpSettings } from './settings.js';
import { gsUri, parseGsUri } from './settings.js';

/** Where Vertex AI finds the model: a GCS folder (artifactUri, AIP_STORAGE_URI in the container). */
export interface ModelArtifact {
  artifactUri?: string;
  /** File name of the model inside that folder, for the serving container. */
  modelFile?: string;
  /** Set when modelport uploads a local model file itself. */
  upload?: { localPath: string; signature?: ModelSignature };
}

/**
 * The artifact folder of a manifest. A local file goes under a folder named by a hash of its content and
 * signature, so a changed model is a new folder (made before the old one is deleted) and an unchanged one
 * is never uploaded twice. A gs:// URI is used as is (a file's folder, or the folder itself).
 */
export async function modelArtifact(manifest: LoadedManifest, settings: GcpSettings): Promise<ModelArtifact> {
  const model = manifest.manifest.spec.model;
  if (model.uri === undefined) return {};
  const scheme = uriScheme(model.uri);
  if (scheme === 'gs') {
    const uri = model.uri.replace(/\/+$/, '');
    const last = uri.slice(uri.lastIndexOf('/') + 1);
    return last.includes('.') ? { artifactUri: posix.dirname(uri), modelFile: last } : { artifactUri: uri };
  }
  if (scheme !== 'file') {
    throw new ModelportError('invalidInput', `Vertex AI reads models from GCS, not ${model.uri}`, {
      hint: 'set spec.model.uri to a local file (modelport uploads it) or a gs:// location',
    });
  }
  const { fileName, hash, upload } = await localModelUpload(manifest.baseDir, model.uri, model.signature);
  return {
    artifactUri: gsUri(settings.bucket, `${artifactPrefix(settings)}${hash}`),
    modelFile: fileName,
    upload,
  };
}

export function artifactPrefix(settings: GcpSettings): string {
  return `${settings.prefix}/${settings.name}/artifacts/`;
}

export function artifactResource(artifact: ModelArtifact): DesiredResource | undefined {
  if (artifact.upload === undefined || artifact.artifactUri === undefined) return undefined;
  return {
    type: RT.artifact,
    name: artifact.artifactUri,
    properties: { uri: artifact.artifactUri },
    immutable: ['uri'],
  };
}

/**
 * Folders this deployment uploaded, found by listing its prefix and reading the objects' metadata. The model
 * file is uploaded last and alone carries the spec hash: a folder an interrupted apply left half-written has
 * none, so the next plan uploads it again.
 */
export async function observeFolders(
  dc: DeploymentContext,
  prefix: string,
  type: string,
): Promise<ObservedResource[]> {
  const [files] = await call(
    `list gs://${dc.settings.bucket}/${prefix}`,
    () => dc.clients.storage.bucket(dc.settings.bucket).getFiles({ prefix }),
    true,
  );
  const folders = new Map<string, { ours: boolean; hash?: string }>();
  for (const file of files) {
    const rest = file.name.slice(prefix.length);
    if (!rest.includes('/')) continue;
    const folder = prefix + rest.slice(0, rest.indexOf('/'));
    const meta = (file.metadata.metadata ?? {}) as Record<string, string>;
    const entry = folders.get(folder) ?? { ours: false };
    if (isOurs(meta, dc.settings)) {
      entry.ours = true;
      const hash = meta[TAGS.specHash];
      if (hash !== undefined) entry.hash = hash;
    }
    folders.set(folder, entry);
  }
  return [...folders].flatMap(([folder, { ours, hash }]) => {
    if (!ours) return [];
    const uri = gsUri(dc.settings.bucket, folder);
    return [
      { type, name: uri, properties: { uri }, specHash: hash, managed: true, state: DeploymentState.Ready },
    ];
  });
}

export function observeArtifacts(dc: DeploymentContext): Promise<ObservedResource[]> {
  return observeFolders(dc, artifactPrefix(dc.settings), RT.artifact);
}

/** Uploads the model file (and its signature beside it) into its folder, labelled in object metadata. */
export async function uploadArtifact(
  dc: DeploymentContext,
  action: PlanAction,
  artifact: ModelArtifact,
): Promise<void> {
  if (artifact.upload === undefined || artifact.artifactUri === undefined) return;
  const { bucket, key } = parseGsUri(artifact.artifactUri);
  const tags = ownTags(dc.settings, action.specHash);
  const { [TAGS.specHash]: _hash, ...partial } = tags;
  if (artifact.upload.signature !== undefined) {
    const body = Buffer.from(JSON.stringify(artifact.upload.signature));
    await call(`upload ${artifact.artifactUri}/signature.json`, () =>
      dc.clients.storage
        .bucket(bucket)
        .file(`${key}/signature.json`)
        .save(body, {
          resumable: false,
          contentType: 'application/json',
          metadata: { metadata: partial },
        }),
    );
  }
  const fileName = artifact.modelFile ?? basename(artifact.upload.localPath);
  const size = (await stat(artifact.upload.localPath)).size;
  dc.ctx.progress(`uploading ${fileName} to ${artifact.artifactUri} (${size} bytes)`);
  await uploadFile(
    dc,
    artifact.upload.localPath,
    bucket,
    `${key}/${fileName}`,
    tags,
    'application/octet-stream',
  );
}

/** One file to GCS: a single request when small, resumable (in chunks, restartable) when large. */
export async function uploadFile(
  dc: DeploymentContext,
  localPath: string,
  bucket: string,
  key: string,
  metadata: Record<string, string>,
  contentType: string,
): Promise<void> {
  const size = (await stat(localPath)).size;
  await call(`upload gs://${bucket}/${key}`, () =>
    dc.clients.storage.bucket(bucket).upload(localPath, {
      destination: key,
      resumable: size > 8 * 1024 * 1024,
      contentType,
      metadata: { metadata },
    }),
  );
}

/** The objects under a folder URI, with its bucket and its prefix (the key ending in `/`). */
export async function listFolder(dc: DeploymentContext, uri: string) {
  const { bucket, key } = parseGsUri(uri);
  const prefix = key.endsWith('/') ? key : `${key}/`;
  const [files] = await call(
    `list ${uri}`,
    () => dc.clients.storage.bucket(bucket).getFiles({ prefix }),
    true,
  );
  return { bucket, prefix, files };
}

/** Deletes every object under a folder URI. */
export async function deleteFolder(dc: DeploymentContext, uri: string): Promise<void> {
  const { bucket, files } = await listFolder(dc, uri);
  for (const file of files) {
    await call(`delete gs://${bucket}/${file.name}`, async () => {
      try {
        await file.delete();
      } catch (error) {
        if ((error as { code?: number }).code !== 404) throw error;
      }
    });
  }
}
