import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelportError, type ErrorKind } from '@modelport/core';

import { readImageLayout } from './image-layout.js';
import {
  defaultManifestFormat,
  imageManifestFor,
  indexFor,
  isEcrRegistry,
  type EncodedManifest,
  type ManifestFormat,
} from './manifest-format.js';
import type { Descriptor } from './media-types.js';
import { parseChallenge, resolveSecret, type RegistryAuth } from './registry-auth.js';

export interface ImageReference {
  /** host[:port] */
  registry: string;
  repository: string;
  tag: string;
}

/** Parses `registry/repository:tag` (the registry part is required: there is no default registry). */
export function parseImageReference(reference: string): ImageReference {
  const match = /^([^/]+)\/([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127}))?$/.exec(reference);
  if (match === null || !/[.:]|^localhost$/.test(match[1] ?? '')) {
    throw new ModelportError(
      'invalidInput',
      `"${reference}" is not an image reference of the form registry/repository:tag`,
      {
        hint: 'e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/iris:1.0.0, myacr.azurecr.io/iris:1.0.0, europe-docker.pkg.dev/project/repo/iris:1.0.0',
      },
    );
  }
  return { registry: match[1] ?? '', repository: match[2] ?? '', tag: match[3] ?? 'latest' };
}

export interface PushOptions {
  auth?: RegistryAuth;
  /** Plain HTTP; default: only for localhost and 127.0.0.1 (as Docker does). */
  plainHttp?: boolean;
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 16 MiB). */
  chunkBytes?: number;
  /** The manifest schema to push (default: `docker` for an ECR registry, else `oci`). */
  manifestFormat?: ManifestFormat;
  onProgress?: (message: string) => void;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
}

export interface PushResult {
  reference: string;
  /** Digest of what the tag points at (the manifest, or the index/list when several platforms were pushed). */
  digest: string;
  /** Media type of what the tag points at: the manifest pushed, or the index/list of several platforms. */
  mediaType: string;
  manifestFormat: ManifestFormat;
  /** With several platforms: each platform's manifest, pushed by digest (empty for one image). */
  manifests: { mediaType: string; digest: string; platform: NonNullable<Descriptor['platform']> }[];
  blobsUploaded: number;
  blobsSkipped: number;
  /** What the user should know before deploying it (a manifest list on ECR, which SageMaker may not resolve). */
  warnings: string[];
}

function kindOf(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'notFound';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'unavailable';
  return 'invalidInput';
}

/**
 * An OCI distribution API client (the push half): HEAD to skip blobs the registry has, POST + PUT (or
 * PATCH chunks) to upload the others, PUT of the manifest. Authentication follows the registry's 401
 * challenge with the configured credentials; tokens are cached per scope for the run.
 */
class RegistryClient {
  private readonly base: string;
  private authorization: string | undefined;
  private basic: string | undefined;
  private readonly doFetch: typeof fetch;

  constructor(
    private readonly target: ImageReference,
    private readonly options: PushOptions,
  ) {
    const host = target.registry.replace(/:\d+$/, '');
    const plain = options.plainHttp ?? ['localhost', '127.0.0.1', '[::1]'].includes(host);
    this.base = `${plain ? 'http' : 'https'}://${target.registry}`;
    this.doFetch = options.fetch ?? fetch;
  }

  private async basicCredentials(): Promise<string | undefined> {
    const auth = this.options.auth;
    if (auth?.type !== 'basic') return undefined;
    this.basic ??= `Basic ${Buffer.from(`${auth.username}:${await resolveSecret(auth.password, `password for ${this.target.registry}`)}`).toString('base64')}`;
    return this.basic;
  }

  private async authenticate(challengeHeader: string | null): Promise<boolean> {
    const challenge = parseChallenge(challengeHeader);
    const auth = this.options.auth ?? { type: 'anonymous' };
    if (auth.type === 'bearer') {
      if (this.authorization !== undefined) return false;
      this.authorization = `Bearer ${await resolveSecret(auth.token, `token for ${this.target.registry}`)}`;
      return true;
    }
    if (challenge?.scheme === 'basic') {
      const basic = await this.basicCredentials();
      if (basic === undefined || this.authorization === basic) return false;
      this.authorization = basic;
      return true;
    }
    if (challenge?.scheme === 'bearer' && challenge.params['realm'] !== undefined) {
      const url = new URL(challenge.params['realm']);
      if (challenge.params['service'] !== undefined)
        url.searchParams.set('service', challenge.params['service']);
      url.searchParams.set(
        'scope',
        challenge.params['scope'] ?? `repository:${this.target.repository}:pull,push`,
      );
      const headers: Record<string, string> = {};
      const basic = await this.basicCredentials();
      if (basic !== undefined) headers['authorization'] = basic;
      const response = await this.doFetch(url, { headers });
      if (!response.ok) {
        throw new ModelportError(
          'auth',
          `the token service of ${this.target.registry} refused ${basic === undefined ? 'an anonymous request' : 'the credentials'} (${response.status})`,
          {
            hint:
              basic === undefined
                ? 'the registry needs credentials: configure registry auth'
                : 'check the registry credentials',
          },
        );
      }
      const body = (await response.json()) as { token?: string; access_token?: string };
      const token = body.token ?? body.access_token;
      if (token === undefined)
        throw new ModelportError('auth', `the token service of ${this.target.registry} returned no token`);
      const next = `Bearer ${token}`;
      if (next === this.authorization) return false;
      this.authorization = next;
      return true;
    }
    return false;
  }

  /** One request, authenticated, retried on 5xx and network errors (3 attempts). */
  async request(
    method: string,
    pathOrUrl: string,
    init: { headers?: Record<string, string>; body?: Uint8Array } = {},
  ): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...init.headers };
      if (this.authorization !== undefined) headers['authorization'] = this.authorization;
      let response: Response;
      try {
        response = await this.doFetch(url, {
          method,
          headers,
          ...(init.body === undefined ? {} : { body: init.body }),
          redirect: 'follow',
        });
      } catch (error) {
        if (attempt < 3) continue;
        throw new ModelportError(
          'unavailable',
          `cannot reach ${this.target.registry}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (response.status === 401 && attempt < 3) {
        await response.arrayBuffer();
        if (await this.authenticate(response.headers.get('www-authenticate'))) continue;
        throw new ModelportError(
          'auth',
          `${this.target.registry} refused the credentials for ${this.target.repository}`,
          {
            hint:
              this.options.auth === undefined
                ? 'the registry needs credentials: configure registry auth'
                : 'check the registry credentials',
          },
        );
      }
      if (response.status >= 500 && attempt < 3) {
        await response.arrayBuffer();
        continue;
      }
      return response;
    }
  }

  async expect(response: Response, ok: readonly number[], what: string): Promise<Response> {
    if (ok.includes(response.status)) return response;
    const text = await response.text().catch(() => '');
    const kind = kindOf(response.status);
    throw new ModelportError(
      kind,
      `${what}: ${this.target.registry} answered ${response.status} ${text.slice(0, 300)}`,
      {
        ...(kind === 'notFound'
          ? {
              hint: `create the repository ${this.target.repository} first (ECR needs it: aws ecr create-repository)`,
            }
          : {}),
        details: { status: response.status },
      },
    );
  }

  private location(response: Response): string {
    const location = response.headers.get('location');
    if (location === null)
      throw new ModelportError('unavailable', `${this.target.registry} started an upload without a Location`);
    return new URL(location, this.base).toString();
  }

  /** Uploads one blob unless the registry has it; returns whether it was uploaded. */
  async pushBlob(file: string, descriptor: Descriptor): Promise<boolean> {
    const repo = this.target.repository;
    const head = await this.request('HEAD', `/v2/${repo}/blobs/${descriptor.digest}`);
    if (head.status === 200) return false;
    let location = this.location(
      await this.expect(
        await this.request('POST', `/v2/${repo}/blobs/uploads/`),
        [202],
        `starting the upload of ${descriptor.digest}`,
      ),
    );
    const chunk = this.options.chunkBytes ?? 16 << 20;
    const withDigest = (url: string): string => {
      const next = new URL(url);
      next.searchParams.set('digest', descriptor.digest);
      return next.toString();
    };
    if (descriptor.size <= chunk) {
      await this.expect(
        await this.request('PUT', withDigest(location), {
          headers: { 'content-type': 'application/octet-stream' },
          body: await readFile(file),
        }),
        [201],
        `uploading ${descriptor.digest}`,
      );
      return true;
    }
    const handle = await open(file, 'r');
    try {
      for (let offset = 0; offset < descriptor.size; offset += chunk) {
        const length = Math.min(chunk, descriptor.size - offset);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, offset);
        const patched = await this.request('PATCH', location, {
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + length - 1}`,
          },
          body: buffer,
        });
        location = this.location(
          await this.expect(patched, [202], `uploading ${descriptor.digest} at ${offset}`),
        );
        this.options.onProgress?.(
          `${descriptor.digest.slice(7, 19)}: ${Math.round(((offset + length) / descriptor.size) * 100)} %`,
        );
      }
    } finally {
      await handle.close();
    }
    await this.expect(
      await this.request('PUT', withDigest(location)),
      [201],
      `finishing the upload of ${descriptor.digest}`,
    );
    return true;
  }

  async putManifest(reference: string, mediaType: string, bytes: Uint8Array): Promise<string | undefined> {
    const response = await this.expect(
      await this.request('PUT', `/v2/${this.target.repository}/manifests/${reference}`, {
        headers: { 'content-type': mediaType },
        body: bytes,
      }),
      [201],
      `putting the manifest ${reference}`,
    );
    return response.headers.get('docker-content-digest') ?? undefined;
  }
}

/** The warning for several platforms under one ECR tag (SageMaker documents single-image tags only). */
function sageMakerListWarning(
  target: ImageReference,
  images: readonly (Descriptor & { platform: NonNullable<Descriptor['platform']> })[],
): string {
  const amd64 = images.find((i) => i.platform.architecture === 'amd64');
  const pin =
    amd64 === undefined
      ? ''
      : ` (e.g. ${target.registry}/${target.repository}@${amd64.digest} for linux/amd64)`;
  return (
    `${target.registry}/${target.repository}:${target.tag} is a multi-platform manifest list: ECS, EKS and AWS Batch pick ` +
    `their architecture from it, but SageMaker documents single-image tags only. For SageMaker, push one layout per tag, ` +
    `or give spec.model.image the digest of one platform's manifest${pin}`
  );
}

/**
 * Pushes images from OCI layouts to a registry under one tag. One layout: the tag names its manifest.
 * Several (one per platform): each manifest is pushed by digest and the tag names an index of them, so
 * `docker pull` picks the right architecture. `manifestFormat` (default: docker for ECR, where SageMaker
 * refuses OCI manifests, else oci) decides the schema: the layout's OCI manifest and an OCI image index, or
 * a Docker V2 Schema 2 manifest with the same config and layer blobs and a Docker manifest list.
 */
export async function pushImages(
  layouts: readonly { dir: string; tag: string }[],
  reference: string,
  options: PushOptions = {},
): Promise<PushResult> {
  const target = parseImageReference(reference);
  if (layouts.length === 0) throw new ModelportError('invalidInput', 'no image layout to push');
  const format = options.manifestFormat ?? defaultManifestFormat(target.registry);
  const client = new RegistryClient(target, options);
  const taggedReference = `${target.registry}/${target.repository}:${target.tag}`;
  let uploaded = 0;
  let skipped = 0;
  const pushed: (Descriptor & { platform: NonNullable<Descriptor['platform']> })[] = [];
  const put = async (tagOrDigest: string, manifest: EncodedManifest): Promise<void> => {
    const stored = await client.putManifest(tagOrDigest, manifest.mediaType, manifest.bytes);
    if (stored !== undefined && stored !== manifest.digest) {
      throw new ModelportError(
        'unavailable',
        `the registry stored the manifest as ${stored}, not ${manifest.digest}`,
      );
    }
  };
  for (const layout of layouts) {
    const { manifestDescriptor, manifest, config } = await readImageLayout(layout.dir, layout.tag);
    const blob = (digest: string) => join(layout.dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
    for (const descriptor of [...manifest.layers, manifest.config]) {
      options.onProgress?.(`blob ${descriptor.digest.slice(7, 19)} (${descriptor.size} bytes)`);
      if (await client.pushBlob(blob(descriptor.digest), descriptor)) uploaded++;
      else skipped++;
    }
    const image = imageManifestFor(manifest, await readFile(blob(manifestDescriptor.digest)), format);
    if (layouts.length === 1) {
      await put(target.tag, image);
      return {
        reference: taggedReference,
        digest: image.digest,
        mediaType: image.mediaType,
        manifestFormat: format,
        manifests: [],
        blobsUploaded: uploaded,
        blobsSkipped: skipped,
        warnings: [],
      };
    }
    await put(image.digest, image);
    pushed.push({
      mediaType: image.mediaType,
      digest: image.digest,
      size: image.bytes.length,
      platform: manifestDescriptor.platform ?? { architecture: config.architecture, os: config.os },
    });
  }
  const index = indexFor(pushed, format);
  await put(target.tag, index);
  return {
    reference: taggedReference,
    digest: index.digest,
    mediaType: index.mediaType,
    manifestFormat: format,
    manifests: pushed.map(({ mediaType, digest, platform }) => ({ mediaType, digest, platform })),
    blobsUploaded: uploaded,
    blobsSkipped: skipped,
    warnings: isEcrRegistry(target.registry) ? [sageMakerListWarning(target, pushed)] : [],
  };
}
