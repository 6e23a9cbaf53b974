import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { REF_NAME, type Descriptor, type ImageConfig } from './media-types.js';

/** What a tag of an OCI image layout resolves to. */
export interface ImageManifestInfo {
  /** The manifest's media type (OCI or Docker; an image manifest, or an index/list of them). */
  mediaType: string;
  /** Digest of the manifest blob. */
  digest: string;
  /** An image manifest's config: its media type and the document. Absent for an index or a list. */
  config?: { mediaType: string; digest: string; value: ImageConfig };
  /** An index's or list's entries (media type, digest, platform). Absent for an image manifest. */
  manifests?: Descriptor[];
}

/**
 * Reads the manifest a tag of an OCI image layout names (the only one when `tag` is not given): its media type
 * (the document's `mediaType`, else the index.json descriptor's) and, for an image, its config. Reads only;
 * writes nothing, checks no digests.
 */
export async function readImageManifestInfo(dir: string, tag?: string): Promise<ImageManifestInfo> {
  const blob = async (digest: string): Promise<unknown> =>
    JSON.parse(await readFile(join(dir, 'blobs', ...digest.split(':')), 'utf8')) as unknown;
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  const named = (index.manifests ?? []).filter((m) => tag === undefined || m.annotations?.[REF_NAME] === tag);
  const descriptor = named[0];
  if (descriptor === undefined || named.length > 1) {
    throw new Error(
      `${dir}: ${descriptor === undefined ? `no image tagged ${tag ?? '(any)'}` : 'give a tag: the layout holds several images'}`,
    );
  }
  const manifest = (await blob(descriptor.digest)) as {
    mediaType?: string;
    config?: Descriptor;
    manifests?: Descriptor[];
  };
  const info: ImageManifestInfo = {
    mediaType: manifest.mediaType ?? descriptor.mediaType,
    digest: descriptor.digest,
  };
  if (manifest.config !== undefined) {
    info.config = {
      mediaType: manifest.config.mediaType,
      digest: manifest.config.digest,
      value: (await blob(manifest.config.digest)) as ImageConfig,
    };
  }
  if (manifest.manifests !== undefined) info.manifests = manifest.manifests;
  return info;
}
