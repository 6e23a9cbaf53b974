// Pushes the serving image over the OCI distribution API to Debian's docker-registry, started on
// 127.0.0.1 by this test, behind a small token-auth front (the Docker token flow ACR and Artifact
// Registry use); skopeo then reads back the same digest.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelportError } from '@modelport/core';

import { packageEdge } from '../packager.js';
import {
  assertAppBuilt,
  freePort,
  loadEdgeManifest,
  REPO_ROOT,
  start,
  stop,
  stopAll,
  TEST_CACHE_DIR,
  type Started,
} from '../testing/fixtures.js';
import { missingTools, tool, which } from '../testing/tools.js';
import { readImageLayout } from './image-layout.js';
import { readImageManifestInfo } from './manifest-info.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.js';
import { parseChallenge, registryAuthPresets } from './registry-auth.js';
import { parseImageReference, pushImages } from './registry-push.js';

const missing = missingTools('docker-registry', 'skopeo', 'dpkg-deb', 'apt-get');
if (missing.length > 0) console.warn(`skipping the registry push tests: missing ${missing.join(', ')}`);

let work: string;
let layout: string;
let arm64Layout: string;
let registry: Started;
let registryPort: number;
let front: Server;
let frontPort: number;
const USER = 'ci';
const PASSWORD = randomBytes(12).toString('hex');
const tokens = new Set<string>();
const auth = { type: 'basic' as const, username: USER, password: { env: 'TEST_REGISTRY_PASSWORD' } };
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
/** An ECR host name for the client, the local registry on the wire (the push reaches it over plain HTTP). */
const viaLocalRegistry: typeof fetch = (input, init) =>
  fetch(
    String(input instanceof Request ? input.url : input).replace(
      `https://${ECR}`,
      `http://127.0.0.1:${registryPort}`,
    ),
    init,
  );

/** Waits until the registry answers its API root. */
async function registryUp(port: number): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (registry.child.exitCode !== null) throw new Error(`docker-registry exited: ${registry.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface RawManifest {
  mediaType: string;
  config: { mediaType: string; digest: string };
  layers: { mediaType: string; digest: string }[];
  manifests: { mediaType: string; digest: string; platform: { architecture: string; os: string } }[];
  digest: string;
}

/** What the registry serves for a tag, as skopeo reads it (`inspect --raw`), with the SHA-256 of those bytes. */
async function rawManifest(repositoryAndTag: string): Promise<RawManifest> {
  const raw = await tool('skopeo', [
    'inspect',
    '--raw',
    '--tls-verify=false',
    `docker://127.0.0.1:${registryPort}/${repositoryAndTag}`,
  ]);
  expect(raw.code, raw.stderr).toBe(0);
  return {
    ...(JSON.parse(raw.stdout) as Omit<RawManifest, 'digest'>),
    digest: `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`,
  };
}

/**
 * A token-auth front for the registry: 401 with `Bearer realm=.../token`, tokens for valid Basic
 * credentials, everything else forwarded as is (Host kept, so the registry's Location URLs point here).
 */
function startFront(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/token')) {
      const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401).end();
        return;
      }
      const scope = new URL(req.url, 'http://x').searchParams.get('scope');
      const token = `t-${randomBytes(8).toString('hex')}`;
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, scope }));
      return;
    }
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    if (token === undefined || !tokens.has(token)) {
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry",scope="repository:iris-edge:pull,push"`,
        })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const { authorization: _dropped, ...headers } = req.headers;
    const upstream = httpRequest(
      { host: '127.0.0.1', port: registryPort, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  if (missing.length > 0) return;
  assertAppBuilt();
  work = await mkdtemp(join(tmpdir(), 'modelport-registry-'));
  const artifacts = await packageEdge(await loadEdgeManifest(), {
    outDir: join(work, 'out'),
    formats: ['oci'],
    platforms: ['linux/amd64', 'linux/arm64'],
    cacheDir: TEST_CACHE_DIR,
  });
  layout = artifacts.find((a) => a.platform === 'linux/amd64')?.path ?? '';
  arm64Layout = artifacts.find((a) => a.platform === 'linux/arm64')?.path ?? '';
  registryPort = await freePort();
  const config = join(work, 'registry.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(work, 'registry-data')}`,
      'http:',
      `  addr: 127.0.0.1:${registryPort}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      '',
    ].join('\n'),
  );
  registry = start(which('docker-registry')!, ['serve', config]);
  await registryUp(registryPort);
  frontPort = await freePort();
  front = await startFront(frontPort);
}, 240_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (front === undefined ? resolve() : front.close(() => resolve())));
  if (registry !== undefined) await stop(registry);
  await stopAll();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(missing.length > 0)('pushing the serving image to a registry', () => {
  it('pushes through token authentication; skopeo inspect shows the local digest; a second push uploads nothing', async () => {
    const { manifestDescriptor } = await readImageLayout(layout, '1.0.0');
    process.env['TEST_REGISTRY_PASSWORD'] = PASSWORD;
    const first = await pushImages(
      [{ dir: layout, tag: '1.0.0' }],
      `127.0.0.1:${frontPort}/iris-edge:1.0.0`,
      { auth, chunkBytes: 8 << 20 },
    );
    expect(first).toMatchObject({
      digest: manifestDescriptor.digest,
      mediaType: OCI_MANIFEST,
      manifestFormat: 'oci',
      blobsUploaded: 5,
      blobsSkipped: 0,
      warnings: [],
    });
    // Not an ECR registry: the layout's own OCI manifest, byte for byte.
    const raw = await rawManifest('iris-edge:1.0.0');
    expect(raw.mediaType).toBe(OCI_MANIFEST);
    expect(raw.config.mediaType).toBe(OCI_CONFIG);

    const inspected = await tool('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://127.0.0.1:${registryPort}/iris-edge:1.0.0`,
    ]);
    expect(inspected.code).toBe(0);
    const info = JSON.parse(inspected.stdout) as {
      Digest: string;
      Architecture: string;
      Labels: Record<string, string>;
    };
    expect(info.Digest).toBe(manifestDescriptor.digest);
    expect(info.Architecture).toBe('amd64');
    expect(info.Labels['org.opencontainers.image.title']).toBe('iris-edge');

    const again = await pushImages(
      [{ dir: layout, tag: '1.0.0' }],
      `127.0.0.1:${frontPort}/iris-edge:1.0.1`,
      { auth },
    );
    expect(again).toMatchObject({ digest: manifestDescriptor.digest, blobsUploaded: 0, blobsSkipped: 5 });
    const copied = await tool('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://127.0.0.1:${registryPort}/iris-edge:1.0.1`,
      `oci:${join(work, 'pulled')}:1.0.1`,
    ]);
    expect(copied.code).toBe(0); // every blob read back and checked against its digest
  });

  it('pushes both platforms under one tag as an image index, with the CLI; skopeo picks each architecture', async () => {
    const cli = join(REPO_ROOT, 'packages/cli/dist/bin/modelport.js');
    const pushed = await tool(process.execPath, [
      cli,
      '--output',
      'json',
      'image',
      'push',
      layout,
      arm64Layout,
      '--to',
      `127.0.0.1:${frontPort}/iris-edge:multi`,
      '--username',
      USER,
      '--password-env',
      'TEST_REGISTRY_PASSWORD',
    ]);
    expect(pushed.stderr).toBe('');
    const result = JSON.parse(pushed.stdout) as {
      digest: string;
      mediaType: string;
      blobsUploaded: number;
      blobsSkipped: number;
    };
    expect(result.mediaType).toBe(OCI_INDEX);
    // arm64's four layers and config are new; amd64's were pushed by the previous test.
    expect(result).toMatchObject({ blobsUploaded: 5, blobsSkipped: 5 });
    const raw = await tool('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://127.0.0.1:${registryPort}/iris-edge:multi`,
    ]);
    const index = JSON.parse(raw.stdout) as { manifests: { platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    for (const [arch, dir] of [
      ['amd64', layout],
      ['arm64', arm64Layout],
    ] as const) {
      const inspected = await tool('skopeo', [
        'inspect',
        '--override-arch',
        arch,
        '--tls-verify=false',
        `docker://127.0.0.1:${registryPort}/iris-edge:multi`,
      ]);
      // skopeo reports the index digest for a multi-platform tag; the layers show which image it picked.
      const info = JSON.parse(inspected.stdout) as { Digest: string; Architecture: string; Layers: string[] };
      expect(info).toMatchObject({ Digest: result.digest, Architecture: arch });
      expect(info.Layers).toEqual((await readImageLayout(dir, '1.0.0')).manifest.layers.map((l) => l.digest));
    }
  });

  it('pushes a Docker V2 Schema 2 manifest over the same blobs; skopeo reads it back and copies every blob', async () => {
    const { manifest, config } = await readImageLayout(layout, '1.0.0');
    const result = await pushImages(
      [{ dir: layout, tag: '1.0.0' }],
      `127.0.0.1:${frontPort}/iris-edge:docker`,
      { auth, manifestFormat: 'docker' },
    );
    // Same config and layer blobs as the OCI push of the first test: nothing to upload.
    expect(result).toMatchObject({
      mediaType: DOCKER_MANIFEST,
      manifestFormat: 'docker',
      blobsUploaded: 0,
      blobsSkipped: 5,
      manifests: [],
      warnings: [],
    });
    const raw = await rawManifest('iris-edge:docker');
    expect(raw.mediaType).toBe(DOCKER_MANIFEST);
    expect(raw.digest).toBe(result.digest);
    expect(raw.config).toEqual({
      mediaType: DOCKER_CONFIG,
      size: manifest.config.size,
      digest: manifest.config.digest,
    });
    expect(raw.layers).toEqual(
      manifest.layers.map((l) => ({ mediaType: DOCKER_LAYER_GZIP, size: l.size, digest: l.digest })),
    );
    expect(raw).not.toHaveProperty('annotations');

    const inspected = await tool('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://127.0.0.1:${registryPort}/iris-edge:docker`,
    ]);
    const info = JSON.parse(inspected.stdout) as { Architecture: string; Labels: Record<string, string> };
    expect(info.Architecture).toBe('amd64');
    expect(info.Labels).toEqual(config.config.Labels);

    const pulled = join(work, 'pulled-docker');
    const copied = await tool('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://127.0.0.1:${registryPort}/iris-edge:docker`,
      `oci:${pulled}:docker`,
    ]);
    expect(copied.code, copied.stderr).toBe(0); // every blob read back and checked against its digest
    const back = await readImageManifestInfo(pulled, 'docker');
    expect(back.config?.value.rootfs.diff_ids).toEqual(config.rootfs.diff_ids);
    expect((await readImageLayout(pulled, 'docker')).manifest.layers.map((l) => l.digest)).toEqual(
      manifest.layers.map((l) => l.digest),
    );
  });

  it('pushes both platforms as a Docker manifest list with the CLI, and says so', async () => {
    const cli = join(REPO_ROOT, 'packages/cli/dist/bin/modelport.js');
    const pushed = await tool(process.execPath, [
      cli,
      'image',
      'push',
      layout,
      arm64Layout,
      '--to',
      `127.0.0.1:${frontPort}/iris-edge:multi-docker`,
      '--manifest-format',
      'docker',
      '--username',
      USER,
      '--password-env',
      'TEST_REGISTRY_PASSWORD',
    ]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(
      /as a Docker manifest list \(application\/vnd\.docker\.distribution\.manifest\.list\.v2\+json\)/,
    );
    expect(pushed.stdout).toMatch(
      /linux\/amd64: sha256:[0-9a-f]{64} \(application\/vnd\.docker\.distribution\.manifest\.v2\+json\)/,
    );
    expect(pushed.stderr).not.toMatch(/warning/); // not ECR
    const list = await rawManifest('iris-edge:multi-docker');
    expect(list.mediaType).toBe(DOCKER_MANIFEST_LIST);
    expect(list.manifests.map((m) => [m.mediaType, m.platform.os, m.platform.architecture])).toEqual([
      [DOCKER_MANIFEST, 'linux', 'amd64'],
      [DOCKER_MANIFEST, 'linux', 'arm64'],
    ]);
    for (const [entry, dir] of [
      [list.manifests[0], layout],
      [list.manifests[1], arm64Layout],
    ] as const) {
      const image = await rawManifest(`iris-edge@${entry?.digest ?? ''}`);
      expect(image.mediaType).toBe(DOCKER_MANIFEST);
      expect(image.layers.map((l) => l.digest)).toEqual(
        (await readImageLayout(dir, '1.0.0')).manifest.layers.map((l) => l.digest),
      );
    }
  });

  it('defaults to Docker manifests for ECR references, warns about a manifest list there, and takes --manifest-format oci', async () => {
    const single = await pushImages([{ dir: layout, tag: '1.0.0' }], `${ECR}/iris-edge:ecr`, {
      fetch: viaLocalRegistry,
    });
    expect(single).toMatchObject({ mediaType: DOCKER_MANIFEST, manifestFormat: 'docker', warnings: [] });
    expect((await rawManifest('iris-edge:ecr')).mediaType).toBe(DOCKER_MANIFEST);

    const both = await pushImages(
      [
        { dir: layout, tag: '1.0.0' },
        { dir: arm64Layout, tag: '1.0.0' },
      ],
      `${ECR}/iris-edge:ecr-multi`,
      { fetch: viaLocalRegistry },
    );
    expect(both.mediaType).toBe(DOCKER_MANIFEST_LIST);
    const amd64 = both.manifests.find((m) => m.platform.architecture === 'amd64');
    expect(amd64?.digest).toBe(single.digest);
    expect(both.warnings).toHaveLength(1);
    expect(both.warnings[0]).toMatch(/SageMaker/);
    expect(both.warnings[0]).toContain(`${ECR}/iris-edge@${single.digest}`);

    const oci = await pushImages([{ dir: layout, tag: '1.0.0' }], `${ECR}/iris-edge:ecr-oci`, {
      fetch: viaLocalRegistry,
      manifestFormat: 'oci',
    });
    expect(oci).toMatchObject({ mediaType: OCI_MANIFEST, manifestFormat: 'oci' });
    expect((await rawManifest('iris-edge:ecr-oci')).mediaType).toBe(OCI_MANIFEST);
  });

  it('says auth when the credentials are wrong or missing', async () => {
    const wrong = await pushImages([{ dir: layout, tag: '1.0.0' }], `127.0.0.1:${frontPort}/iris-edge:x`, {
      auth: { type: 'basic', username: USER, password: { value: 'nope' } },
    }).catch((e: unknown) => e);
    expect(ModelportError.is(wrong, 'auth')).toBe(true);
    const none = await pushImages(
      [{ dir: layout, tag: '1.0.0' }],
      `127.0.0.1:${frontPort}/iris-edge:x`,
    ).catch((e: unknown) => e);
    expect(ModelportError.is(none, 'auth')).toBe(true);
    expect((none as ModelportError).hint).toMatch(/configure registry auth/);
  });
});

describe('registry references and auth configuration', () => {
  it('parses references of the three clouds and refuses ones without a registry', () => {
    expect(parseImageReference('123456789012.dkr.ecr.eu-west-1.amazonaws.com/iris:1.0.0')).toEqual({
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      repository: 'iris',
      tag: '1.0.0',
    });
    expect(parseImageReference('europe-docker.pkg.dev/proj/models/iris')).toMatchObject({
      repository: 'proj/models/iris',
      tag: 'latest',
    });
    expect(parseImageReference('localhost:5000/iris:dev').registry).toBe('localhost:5000');
    expect(() => parseImageReference('iris:1.0.0')).toThrow(/registry\/repository:tag/);
  });

  it('refuses an unknown --manifest-format before reading anything', async () => {
    const cli = join(REPO_ROOT, 'packages/cli/dist/bin/modelport.js');
    const result = await tool(process.execPath, [
      cli,
      'image',
      'push',
      '/nonexistent',
      '--to',
      'localhost:5000/iris:1',
      '--manifest-format',
      'v2s2',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown --manifest-format "v2s2"[\s\S]*use docker or oci/);
  });

  it('reads challenges and describes cloud credentials as commands', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://myacr.azurecr.io/oauth2/token",service="myacr.azurecr.io",scope="repository:iris:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://myacr.azurecr.io/oauth2/token',
        service: 'myacr.azurecr.io',
        scope: 'repository:iris:pull,push',
      },
    });
    expect(
      parseChallenge('Basic realm="https://123.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"')
        ?.scheme,
    ).toBe('basic');
    expect(registryAuthPresets.ecr('eu-west-1')).toEqual({
      type: 'basic',
      username: 'AWS',
      password: { command: ['aws', 'ecr', 'get-login-password', '--region', 'eu-west-1'] },
    });
    expect(registryAuthPresets.artifactRegistry()).toMatchObject({ username: 'oauth2accesstoken' });
    expect(registryAuthPresets.acr('myacr')).toMatchObject({
      username: '00000000-0000-0000-0000-000000000000',
    });
  });
});
