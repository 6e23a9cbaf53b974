import { createHash } from 'node:crypto';

import { ModelportError } from '@modelport/core';

import { jsonBytes } from './image-layout.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  type Descriptor,
  type DockerManifest,
  type DockerManifestList,
  type ImageIndex,
  type ImageManifest,
} from './media-types.js';

/**
 * The manifest schema pushed to a registry. `oci`: the layout's own OCI image manifest (or an OCI image index
 * for several platforms). `docker`: Docker Image Manifest V2 Schema 2 with the same config and layer blobs
 * (a Docker manifest list for several platforms), which SageMaker needs.
 */
export type ManifestFormat = 'docker' | 'oci';
export const MANIFEST_FORMATS: readonly ManifestFormat[] = ['docker', 'oci'];

/** Amazon ECR private registries: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`. */
const ECR_REGISTRY = /^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;

export function isEcrRegistry(registry: string): boolean {
  return ECR_REGISTRY.test(registry.toLowerCase());
}

/**
 * Docker for ECR, whose images SageMaker runs (and SageMaker refuses OCI manifests); OCI everywhere else
 * (ECS, AWS Batch, Azure ML, Vertex AI and Kubernetes run both).
 */
export function defaultManifestFormat(registry: string): ManifestFormat {
  return isEcrRegistry(registry) ? 'docker' : 'oci';
}

/**
 * The media type `modelport image push` gives the tag `reference` names: for one platform a Docker V2 Schema 2
 * or an OCI image manifest, for several a Docker manifest list or an OCI image index (format as given, else
 * the registry's default). Pure: what an emulated registry should say an image was pushed with.
 */
export function pushedMediaType(
  reference: string,
  options: { platforms?: number; manifestFormat?: ManifestFormat } = {},
): string {
  const registry = reference.split('/', 1)[0] ?? '';
  const format = options.manifestFormat ?? defaultManifestFormat(registry);
  const several = (options.platforms ?? 1) > 1;
  if (format === 'docker') return several ? DOCKER_MANIFEST_LIST : DOCKER_MANIFEST;
  return several ? OCI_INDEX : OCI_MANIFEST;
}

export interface EncodedManifest {
  mediaType: string;
  digest: string;
  bytes: Uint8Array;
}

function encode(mediaType: string, bytes: Uint8Array): EncodedManifest {
  return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
}

/** The Docker V2 Schema 2 media type of an OCI layer (gzip tar is the only one the schema has). */
const DOCKER_LAYER_OF: Readonly<Record<string, string>> = {
  [OCI_LAYER_GZIP]: DOCKER_LAYER_GZIP,
  [DOCKER_LAYER_GZIP]: DOCKER_LAYER_GZIP,
};

/**
 * Converts an OCI image manifest to Docker V2 Schema 2: the same config and layer descriptors (digests and
 * sizes, so the same blobs) with Docker media types; annotations dropped (the schema has none; the config's
 * labels carry the same title and version).
 */
export function toDockerManifest(manifest: ImageManifest): DockerManifest {
  if (manifest.config.mediaType !== OCI_CONFIG && manifest.config.mediaType !== DOCKER_CONFIG) {
    throw new ModelportError(
      'invalidInput',
      `config media type ${manifest.config.mediaType} has no Docker V2 Schema 2 equivalent`,
      { hint: 'push it with --manifest-format oci' },
    );
  }
  return {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: manifest.config.size, digest: manifest.config.digest },
    layers: manifest.layers.map((layer) => {
      const mediaType = DOCKER_LAYER_OF[layer.mediaType];
      if (mediaType === undefined) {
        throw new ModelportError(
          'invalidInput',
          `layer ${layer.digest} is ${layer.mediaType}, which Docker V2 Schema 2 cannot describe (it has gzip tar layers only)`,
          { hint: 'push it with --manifest-format oci' },
        );
      }
      return { mediaType, size: layer.size, digest: layer.digest };
    }),
  };
}

/**
 * The manifest to push for one image of a layout: its own bytes for `oci` (the digest stays the layout's),
 * the converted Docker manifest for `docker`.
 */
export function imageManifestFor(
  manifest: ImageManifest,
  layoutBytes: Uint8Array,
  format: ManifestFormat,
): EncodedManifest {
  return format === 'oci'
    ? encode(OCI_MANIFEST, layoutBytes)
    : encode(DOCKER_MANIFEST, jsonBytes(toDockerManifest(manifest)));
}

/** The multi-platform manifest naming the pushed images: an OCI image index, or a Docker manifest list. */
export function indexFor(
  images: readonly (Descriptor & { platform: NonNullable<Descriptor['platform']> })[],
  format: ManifestFormat,
): EncodedManifest {
  const manifests = images.map(({ mediaType, digest, size, platform }) => ({
    mediaType,
    digest,
    size,
    platform,
  }));
  if (format === 'oci') {
    const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
    return encode(OCI_INDEX, jsonBytes(index));
  }
  const list: DockerManifestList = { schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests };
  return encode(DOCKER_MANIFEST_LIST, jsonBytes(list));
}

/** A plain description of a manifest media type, for messages. */
export function describeMediaType(mediaType: string): string {
  switch (mediaType) {
    case DOCKER_MANIFEST:
      return 'Docker V2 Schema 2 manifest';
    case DOCKER_MANIFEST_LIST:
      return 'Docker manifest list';
    case OCI_MANIFEST:
      return 'OCI image manifest';
    case OCI_INDEX:
      return 'OCI image index';
    default:
      return mediaType;
  }
}
