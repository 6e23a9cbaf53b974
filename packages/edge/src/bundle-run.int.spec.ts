// The amd64 bundle end to end: built from examples/edge/iris-edge.yaml, signed, extracted, started with
// its own Node; its predictions must equal the local provider's, and any tampering must stop it.
import { appendFile, copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { VertexEmulator } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { extractBundle } from './archive/safe-extract.js';
import { packageEdge } from './packager.js';
import { generateSigningKeys, type GeneratedKeys } from './signing/keys.js';
import {
  flipByte,
  assertAppBuilt,
  IRIS_ENDPOINT_MANIFEST,
  IRIS_PAYLOAD,
  loadEdgeManifest,
  postJson,
  start,
  stop,
  stopAll,
  TEST_CACHE_DIR,
  waitForLine,
  type Started,
} from './testing/fixtures.js';
import { verifyBundle } from './verify.js';

let work: string;
let keys: GeneratedKeys;
let otherKeys: GeneratedKeys;
let archive: string;
let payload: string;
let pristine: string;

/** A fresh copy of the bundle as extracted on a device (extracted once, copied per test). */
async function extracted(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(pristine, dir, { recursive: true, preserveTimestamps: true });
  return dir;
}

function runBundle(dir: string, ...args: string[]): Started {
  // The bundle's own Node, not the test's: this is what runs on the device.
  return start(join(dir, 'bin/node'), [join(dir, 'run.mjs'), '--port', '0', '--queue-port', '0', ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  });
}

/** What the local provider (the embedded default target) answers for the same payload. */
async function localProviderPredictions(): Promise<unknown> {
  const stateDir = join(work, 'local-state');
  process.env['MODELPORT_STATE_DIR'] = stateDir;
  const { createModelport } = await import('modelport');
  const mp = createModelport();
  await mp.apply(IRIS_ENDPOINT_MANIFEST);
  try {
    const answer = await mp.invoke(IRIS_ENDPOINT_MANIFEST, {
      body: Buffer.from(payload),
      contentType: 'application/json',
    });
    expect(answer.status).toBe(200);
    return JSON.parse(Buffer.from(answer.body).toString('utf8'));
  } finally {
    await mp.destroy(IRIS_ENDPOINT_MANIFEST);
  }
}

beforeAll(async () => {
  assertAppBuilt();
  work = await mkdtemp(join(tmpdir(), 'modelport-edge-run-'));
  keys = await generateSigningKeys(join(work, 'keys'));
  otherKeys = await generateSigningKeys(join(work, 'other-keys'));
  payload = await readFile(IRIS_PAYLOAD, 'utf8');
  const loaded = await loadEdgeManifest();
  const artifacts = await packageEdge(loaded, {
    outDir: join(work, 'out'),
    formats: ['tar.gz'],
    platforms: ['linux/amd64'],
    signingKey: keys.privateKeyPath,
    cacheDir: TEST_CACHE_DIR,
  });
  expect(artifacts).toHaveLength(1);
  archive = artifacts[0]?.path ?? '';
  pristine = join(work, 'pristine');
  await extractBundle(archive, pristine);
}, 240_000);

afterAll(async () => {
  await stopAll();
  delete process.env['MODELPORT_STATE_DIR'];
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the amd64 edge bundle', () => {
  it('verifies against the signer key, as an archive and extracted', async () => {
    const fromArchive = await verifyBundle(archive, { publicKey: keys.publicKeyPath });
    expect(fromArchive.problems).toEqual([]);
    expect(fromArchive).toMatchObject({ ok: true, signed: true, trust: 'given-key' });
    const dir = await extracted('verify');
    const fromDir = await verifyBundle(dir, { publicKey: keys.publicKeyPath });
    expect(fromDir).toMatchObject({ ok: true, signed: true, files: fromArchive.files });
    const wrongKey = await verifyBundle(dir, { publicKey: otherKeys.publicKeyPath });
    expect(wrongKey.ok).toBe(false);
    expect(wrongKey.problems.join('\n')).toMatch(/signed by key sha256:[0-9a-f]{64}, not by sha256:/);
  });

  it('serves with the bundled Node: predictions equal the local provider, sync and through the queue', async () => {
    const dir = await extracted('serve');
    const bundle = runBundle(dir, '--pubkey', keys.publicKeyPath);
    const ready = await waitForLine(bundle, 'edge ready');
    expect(ready).toMatchObject({
      platform: 'linux/amd64',
      runtime: 'native',
      verified: { signed: true, trust: 'given-key' },
    });
    const url = String(ready['url']);
    const queueUrl = String(ready['queueUrl']);

    const ping = await fetch(`${url}/ping`);
    expect(ping.status).toBe(200);
    const sync = await postJson(`${url}/invocations`, payload);
    expect(sync.status).toBe(200);
    const local = await localProviderPredictions();
    expect(sync.json).toEqual(local);
    // The other protocols of the same server (KServe v1 names the model after the manifest).
    const kserve = await postJson(`${url}/v1/models/iris-edge:predict`, payload);
    expect(kserve.json).toEqual(local);

    // Store and forward: accepted at once with an id, answered later with the same predictions.
    const queued = await postJson(`${queueUrl}/async/invocations`, payload);
    expect(queued.status).toBe(202);
    const id = (queued.json as { id: string }).id;
    let result: Response;
    for (;;) {
      result = await fetch(`${queueUrl}/async/results/${id}`);
      if (result.status !== 202) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(result.status).toBe(200);
    expect(await result.json()).toEqual(local);
    expect(await (await fetch(`${queueUrl}/async/results/no-such-id`)).json()).toMatchObject({
      code: 'not_found',
    });
    await stop(bundle);
    expect((await bundle.exited).code).toBe(0);
  });

  it('serves a model from a platform folder instead of the bundled one (SageMaker /opt/ml/model style)', async () => {
    // The folder holds model.tar.gz's contents: the .onnx one level down. MODELPORT_MODEL names it.
    const platformDir = join(work, 'opt-ml-model');
    await mkdir(join(platformDir, 'extracted'), { recursive: true });
    await copyFile(join(pristine, 'model/model.onnx'), join(platformDir, 'extracted/iris.onnx'));
    const bundle = start(
      join(pristine, 'bin/node'),
      [join(pristine, 'run.mjs'), 'serve', '--port', '0', '--queue-port', 'off'],
      {
        env: { PATH: '/usr/bin:/bin', MODELPORT_MODEL: platformDir },
      },
    );
    const ready = await waitForLine(bundle, 'edge ready');
    const answer = await postJson(`${String(ready['url'])}/invocations`, payload);
    expect(answer.status).toBe(200);
    expect((answer.json as { predictions: { label: number }[] }).predictions.map((p) => p.label)).toEqual([
      0, 2, 1,
    ]);
    await stop(bundle);
  });

  it('serves the model Vertex AI names in AIP_STORAGE_URI, fetched from Cloud Storage at start', async () => {
    const vertex = new VertexEmulator({ buckets: ['vertex-models'] });
    await vertex.start();
    try {
      vertex.gcs.put(
        'vertex-models',
        'iris/abc/iris.onnx',
        await readFile(join(pristine, 'model/model.onnx')),
      );
      const bundle = start(
        join(pristine, 'bin/node'),
        [join(pristine, 'run.mjs'), '--port', '0', '--queue-port', 'off'],
        {
          env: {
            PATH: '/usr/bin:/bin',
            AIP_STORAGE_URI: 'gs://vertex-models/iris/abc',
            MODELPORT_MODEL: 'iris.onnx',
            MODELPORT_GCS_ENDPOINT: vertex.gcsUrl,
          },
        },
      );
      const ready = await waitForLine(bundle, 'edge ready');
      const answer = await postJson(`${String(ready['url'])}/predict`, payload);
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.json)).toContain('"label":2');
      await stop(bundle);
    } finally {
      await vertex.stop();
    }
  });

  it('refuses to start when one byte of the model is flipped', async () => {
    const dir = await extracted('tampered-model');
    const model = join(dir, 'model/model.onnx');
    const bytes = await readFile(model);
    flipByte(bytes, Math.floor(bytes.length / 2), 0x01);
    await writeFile(model, bytes);

    const report = await verifyBundle(dir, { publicKey: keys.publicKeyPath });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(['model/model.onnx does not match its SHA-256 (modified)']);

    const bundle = runBundle(dir, '--pubkey', keys.publicKeyPath);
    const { code } = await bundle.exited;
    expect(code).toBe(3);
    expect(bundle.stderr()).toContain('refusing to start');
    expect(bundle.stderr()).toContain('model/model.onnx does not match its SHA-256');
    expect(bundle.lines().some((l) => l['msg'] === 'ready')).toBe(false);
  });

  it('refuses to start when bundle.json is rewritten to match, since the signature then fails', async () => {
    const dir = await extracted('tampered-manifest');
    const manifestPath = join(dir, 'bundle.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      serve: { timeoutSeconds?: number };
    };
    manifest.serve.timeoutSeconds = 1;
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    const bundle = runBundle(dir);
    expect((await bundle.exited).code).toBe(3);
    expect(bundle.stderr()).toContain('the signature does not match bundle.json');
  });

  it('refuses to start with an added file, or when signed by another key than the trusted one', async () => {
    const dir = await extracted('tampered-extra');
    await appendFile(join(dir, 'node_modules/onnxruntime-node/dist/preload.js'), 'process.exit(0)\n');
    const extra = runBundle(dir);
    expect((await extra.exited).code).toBe(3);
    expect(extra.stderr()).toContain('unexpected file node_modules/onnxruntime-node/dist/preload.js');

    const clean = await extracted('wrong-key');
    const wrongKey = runBundle(clean, '--pubkey', otherKeys.publicKeyPath);
    expect((await wrongKey.exited).code).toBe(3);
    expect(wrongKey.stderr()).toMatch(/signed by key sha256:[0-9a-f]+, not by sha256:/);
  });
});
