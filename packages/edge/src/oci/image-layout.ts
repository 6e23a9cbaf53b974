import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { DeflateCache } from '../archive/deflate-cache.js';
import type { FileTree } from '../archive/file-tree.js';
import { writeTarGz } from '../archive/tar-gz.js';
import {
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  REF_NAME,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from './media-types.js';

export interface LayerSpec {
  /** What it holds, for the config's history. */
  comment: string;
  tree: FileTree;
}

export interface WrittenImage {
  /** The OCI image layout folder. */
  dir: string;
  tag: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** Bytes of every blob. */
  bytes: number;
}

/** Canonical JSON bytes of a document: fixed key order (as built), no whitespace. */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function putBlob(dir: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  return digest;
}

/**
 * Writes an OCI image layout (image-spec 1.1): `oci-layout`, `index.json` naming the image `tag`, and
 * blobs/sha256/: one reproducible tar+gzip layer per LayerSpec, the config (diff_ids = SHA-256 of the
 * uncompressed layers; no creation time) and the manifest. Rebuilt from scratch each time, in a temporary
 * folder renamed into place, so the folder holds exactly this image.
 */
export async function writeImageLayout(options: {
  dir: string;
  tag: string;
  layers: readonly LayerSpec[];
  /** The config without rootfs and history, which are filled in here. */
  config: Omit<ImageConfig, 'rootfs' | 'history'>;
  annotations?: Record<string, string>;
  cache: DeflateCache;
  onProgress?: (message: string) => void;
}): Promise<WrittenImage> {
  const temp = `${options.dir}.${process.pid}.partial`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(join(temp, 'blobs', 'sha256'), { recursive: true });
  try {
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const [i, layer] of options.layers.entries()) {
      options.onProgress?.(`layer ${i + 1}/${options.layers.length}: ${layer.comment}`);
      const partial = join(temp, 'blobs', 'sha256', `layer-${i}.partial`);
      const written = await writeTarGz(layer.tree.list(), partial, {
        cache: options.cache,
        diffId: true,
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
      await rename(partial, join(temp, 'blobs', 'sha256', written.sha256));
      layers.push({ mediaType: OCI_LAYER_GZIP, digest: `sha256:${written.sha256}`, size: written.bytes });
      diffIds.push(`sha256:${written.diffId ?? ''}`);
    }
    const config: ImageConfig = {
      ...options.config,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: options.layers.map((l) => ({ created_by: 'modelport', comment: l.comment })),
    };
    const configBytes = jsonBytes(config);
    const configDescriptor: Descriptor = {
      mediaType: OCI_CONFIG,
      digest: await putBlob(temp, configBytes),
      size: configBytes.length,
    };
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: configDescriptor,
      layers,
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    };
    const manifestBytes = jsonBytes(manifest);
    const manifestDescriptor: Descriptor = {
      mediaType: OCI_MANIFEST,
      digest: await putBlob(temp, manifestBytes),
      size: manifestBytes.length,
      platform: { architecture: options.config.architecture, os: options.config.os },
    };
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...manifestDescriptor, annotations: { [REF_NAME]: options.tag } }],
    };
    await writeFile(join(temp, 'index.json'), jsonBytes(index));
    await writeFile(join(temp, 'oci-layout'), jsonBytes({ imageLayoutVersion: '1.0.0' }));
    await rm(options.dir, { recursive: true, force: true });
    await rename(temp, options.dir);
    const { platform: _platform, ...bare } = manifestDescriptor;
    return {
      dir: options.dir,
      tag: options.tag,
      manifest: bare,
      config: configDescriptor,
      layers,
      bytes: layers.reduce((sum, l) => sum + l.size, configBytes.length + manifestBytes.length),
    };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Reads an OCI layout back: the manifest named `tag` (or the only one) and its config. */
export async function readImageLayout(
  dir: string,
  tag?: string,
): Promise<{
  index: ImageIndex;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  const candidates = index.manifests.filter((m) => tag === undefined || m.annotations?.[REF_NAME] === tag);
  const manifestDescriptor = candidates[0];
  if (manifestDescriptor === undefined || (tag === undefined && candidates.length > 1)) {
    throw new Error(
      `${dir}: ${tag === undefined ? 'give a tag: the layout holds several images' : `no image tagged ${tag}`}`,
    );
  }
  const blob = (digest: string) => readFile(join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
  const manifest = JSON.parse((await blob(manifestDescriptor.digest)).toString('utf8')) as ImageManifest;
  const config = JSON.parse((await blob(manifest.config.digest)).toString('utf8')) as ImageConfig;
  return { index, manifestDescriptor, manifest, config };
}
