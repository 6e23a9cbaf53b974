import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ModelportError } from '@modelport/core';

import { jsonBytes } from './image-layout.js';
import {
  defaultManifestFormat,
  imageManifestFor,
  indexFor,
  pushedMediaType,
  toDockerManifest,
} from './manifest-format.js';
import { readImageManifestInfo } from './manifest-info.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  REF_NAME,
  type ImageManifest,
} from './media-types.js';

const sha = (bytes: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const manifest: ImageManifest = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: OCI_CONFIG, digest: sha('config'), size: 6 },
  layers: [
    { mediaType: OCI_LAYER_GZIP, digest: sha('a'), size: 10 },
    { mediaType: OCI_LAYER_GZIP, digest: sha('b'), size: 20 },
  ],
  annotations: { 'org.opencontainers.image.title': 'iris' },
};

describe('manifest formats', () => {
  it('defaults to docker for ECR registries only', () => {
    expect(defaultManifestFormat('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe('docker');
    expect(defaultManifestFormat('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toBe('docker');
    expect(defaultManifestFormat('123456789012.dkr.ecr-fips.us-east-1.amazonaws.com')).toBe('docker');
    expect(defaultManifestFormat('public.ecr.aws')).toBe('oci');
    expect(defaultManifestFormat('myacr.azurecr.io')).toBe('oci');
    expect(defaultManifestFormat('europe-docker.pkg.dev')).toBe('oci');
    expect(defaultManifestFormat('localhost:5000')).toBe('oci');
  });

  it('says which media type a push to a reference gives the tag', () => {
    const ecr = '123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-serving:0.1.0';
    expect(pushedMediaType(ecr)).toBe(DOCKER_MANIFEST);
    expect(pushedMediaType(ecr, { platforms: 2 })).toBe(DOCKER_MANIFEST_LIST);
    expect(pushedMediaType(ecr, { manifestFormat: 'oci' })).toBe(OCI_MANIFEST);
    expect(pushedMediaType('myacr.azurecr.io/modelport-serving:0.1.0')).toBe(OCI_MANIFEST);
    expect(pushedMediaType('localhost:5000/iris', { platforms: 2 })).toBe(OCI_INDEX);
    expect(pushedMediaType('localhost:5000/iris', { manifestFormat: 'docker' })).toBe(DOCKER_MANIFEST);
  });

  it('converts an OCI manifest to Docker V2 Schema 2 over the same blobs, without annotations', () => {
    expect(toDockerManifest(manifest)).toEqual({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: 6, digest: sha('config') },
      layers: [
        { mediaType: DOCKER_LAYER_GZIP, size: 10, digest: sha('a') },
        { mediaType: DOCKER_LAYER_GZIP, size: 20, digest: sha('b') },
      ],
    });
    const docker = imageManifestFor(manifest, jsonBytes(manifest), 'docker');
    expect(docker.mediaType).toBe(DOCKER_MANIFEST);
    expect(docker.digest).toBe(sha(docker.bytes));
  });

  it('pushes the layout bytes unchanged as OCI', () => {
    const bytes = jsonBytes(manifest);
    expect(imageManifestFor(manifest, bytes, 'oci')).toEqual({
      mediaType: OCI_MANIFEST,
      digest: sha(bytes),
      bytes,
    });
  });

  it('refuses layers Docker V2 Schema 2 cannot describe', () => {
    const zstd = {
      ...manifest,
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha('z'), size: 1 }],
    };
    const error = (() => {
      try {
        return toDockerManifest(zstd);
      } catch (e) {
        return e;
      }
    })();
    expect(ModelportError.is(error, 'invalidInput')).toBe(true);
    expect((error as ModelportError).hint).toMatch(/--manifest-format oci/);
  });

  it('names several platforms in an OCI index or a Docker manifest list', () => {
    const images = [
      {
        mediaType: DOCKER_MANIFEST,
        digest: sha('x'),
        size: 3,
        platform: { architecture: 'amd64', os: 'linux' },
      },
      {
        mediaType: DOCKER_MANIFEST,
        digest: sha('y'),
        size: 4,
        platform: { architecture: 'arm64', os: 'linux' },
      },
    ];
    const list = indexFor(images, 'docker');
    expect(list.mediaType).toBe(DOCKER_MANIFEST_LIST);
    expect(JSON.parse(Buffer.from(list.bytes).toString('utf8'))).toEqual({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: images,
    });
    expect(indexFor(images, 'oci').mediaType).toBe(OCI_INDEX);
  });
});

describe('readImageManifestInfo', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** A layout whose index names one manifest (any media type) under `tag`. */
  async function layoutWith(document: Record<string, unknown>, descriptorType: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'modelport-manifest-info-'));
    dirs.push(dir);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const put = async (bytes: Buffer): Promise<string> => {
      const digest = sha(bytes);
      await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
      return digest;
    };
    const config = jsonBytes({
      architecture: 'arm64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const configDigest = await put(config);
    const bytes = jsonBytes({
      ...document,
      config: { mediaType: DOCKER_CONFIG, digest: configDigest, size: config.length },
    });
    const digest = await put(bytes);
    await writeFile(
      join(dir, 'index.json'),
      jsonBytes({
        schemaVersion: 2,
        manifests: [
          { mediaType: descriptorType, digest, size: bytes.length, annotations: { [REF_NAME]: 'v1' } },
        ],
      }),
    );
    return dir;
  }

  it('says which manifest media type a tag names, and reads its config', async () => {
    const dir = await layoutWith(
      { schemaVersion: 2, mediaType: DOCKER_MANIFEST, layers: [] },
      DOCKER_MANIFEST,
    );
    const info = await readImageManifestInfo(dir, 'v1');
    expect(info.mediaType).toBe(DOCKER_MANIFEST);
    expect(info.config?.mediaType).toBe(DOCKER_CONFIG);
    expect(info.config?.value.architecture).toBe('arm64');
    expect(await readImageManifestInfo(dir)).toEqual(info);
    await expect(readImageManifestInfo(dir, 'v2')).rejects.toThrow(/no image tagged v2/);
  });

  it('falls back to the descriptor media type when the manifest has none (OCI allows it)', async () => {
    const dir = await layoutWith({ schemaVersion: 2, layers: [] }, OCI_MANIFEST);
    expect((await readImageManifestInfo(dir, 'v1')).mediaType).toBe(OCI_MANIFEST);
  });
});
