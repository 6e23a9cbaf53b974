// The amd64 bundle end to end: built from examples/edge/iris-edge.yaml, signed, extracted, started with
// its own Node; its predictions must equal the local provider's, and any tampering must stop it.
import { appendFile, copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AwsEmulator, VertexEmulator } from '@modelport/testkit';
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

  it('serves a folder model with the signature.json beside it, and the model Azure ML mounts at AZUREML_MODEL_DIR', async () => {
    const signature = {
      inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
      outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
    };
    // KServe's storage initializer puts the model under /mnt/models; the path comes in --model.
    const kserveDir = join(work, 'mnt-models');
    await mkdir(kserveDir, { recursive: true });
    await copyFile(join(pristine, 'model/model.onnx'), join(kserveDir, 'iris.onnx'));
    await writeFile(join(kserveDir, 'signature.json'), JSON.stringify(signature));
    const kserve = start(
      join(pristine, 'bin/node'),
      [join(pristine, 'run.mjs'), '--model', kserveDir, '--port', '0', '--queue-port', 'off'],
      { env: { PATH: '/usr/bin:/bin' } },
    );
    expect(await waitForLine(kserve, 'model source')).toMatchObject({
      source: '--model',
      path: join(kserveDir, 'iris.onnx'),
      signature: join(kserveDir, 'signature.json'),
    });
    const ready = await waitForLine(kserve, 'edge ready');
    const answer = await postJson(`${String(ready['url'])}/invocations`, payload);
    expect(answer.status).toBe(200);
    // The declared signature has one output: no probabilities, unlike the bundled model's signature.
    expect(answer.text).not.toContain('probabilities');
    expect(answer.text).toMatch(/\b0\b.*\b2\b.*\b1\b/);
    await stop(kserve);

    // Azure ML: <AZUREML_MODEL_DIR>/<registered folder>/<file>.
    const azureDir = join(work, 'azureml-models/iris/1');
    await mkdir(join(azureDir, 'iris-model'), { recursive: true });
    await copyFile(join(pristine, 'model/model.onnx'), join(azureDir, 'iris-model/model.onnx'));
    const azure = start(
      join(pristine, 'bin/node'),
      [join(pristine, 'run.mjs'), '--port', '0', '--queue-port', 'off'],
      {
        env: { PATH: '/usr/bin:/bin', AZUREML_MODEL_DIR: azureDir },
      },
    );
    expect(await waitForLine(azure, 'model source')).toMatchObject({
      source: 'AZUREML_MODEL_DIR',
      path: join(azureDir, 'iris-model/model.onnx'),
    });
    await waitForLine(azure, 'edge ready');
    await stop(azure);

    // Nothing names a model: the bundled one, and the log says so.
    const bundled = start(
      join(pristine, 'bin/node'),
      [join(pristine, 'run.mjs'), '--port', '0', '--queue-port', 'off'],
      {
        env: { PATH: '/usr/bin:/bin' },
      },
    );
    expect(await waitForLine(bundled, 'model source')).toMatchObject({ source: 'bundled' });
    await stop(bundled);

    // A folder with two models is refused at start (exit 1), naming both.
    const two = join(work, 'two-models');
    await mkdir(two);
    await copyFile(join(pristine, 'model/model.onnx'), join(two, 'a.onnx'));
    await copyFile(join(pristine, 'model/model.onnx'), join(two, 'b.onnx'));
    const refused = start(join(pristine, 'bin/node'), [join(pristine, 'run.mjs'), '--port', '0'], {
      env: { PATH: '/usr/bin:/bin', MODELPORT_MODEL: two },
    });
    expect((await refused.exited).code).toBe(1);
    expect(refused.stderr()).toMatch(/expected one \.onnx file, found 2: .*a\.onnx, .*b\.onnx/);
  });

  it('runs a batch job to completion over a local folder: outputs, errors, exit 0, then 1 past --max-failed', async () => {
    const input = join(work, 'batch-in');
    await mkdir(input);
    await writeFile(join(input, 'a.jsonl'), '[5.1,3.5,1.4,0.2]\nnot json\n[6.7,3.0,5.2,2.3]\n');
    await writeFile(join(input, 'b.csv'), 'sl,sw,pl,pw\n5.9,3.0,4.2,1.5\n');
    const runJob = (output: string, env: Record<string, string>) =>
      start(
        join(pristine, 'bin/node'),
        [join(pristine, 'run.mjs'), 'batch', '--input', input, '--output', output],
        {
          env: { PATH: '/usr/bin:/bin', ...env },
        },
      );
    const ok = runJob(join(work, 'batch-out'), { MODELPORT_BATCH_MAX_FAILED: '1' });
    expect((await ok.exited).code).toBe(0);
    expect(ok.lines().find((l) => l['msg'] === 'batch done')).toMatchObject({
      files: 2,
      records: 4,
      failed: 1,
      ok: true,
    });
    const a = (await readFile(join(work, 'batch-out/a.jsonl.out'), 'utf8')).trim().split('\n');
    expect(a.map((l) => (JSON.parse(l) as { label: number }).label)).toEqual([0, 2]);
    expect(JSON.parse(await readFile(join(work, 'batch-out/a.jsonl.errors.jsonl'), 'utf8'))).toMatchObject({
      line: 2,
    });
    expect(await readdir(join(work, 'batch-out'))).toContain('b.csv.out');

    // Run again: both files are done.
    const again = runJob(join(work, 'batch-out'), { MODELPORT_BATCH_MAX_FAILED: '1' });
    expect((await again.exited).code).toBe(0);
    expect(again.lines().find((l) => l['msg'] === 'batch done')).toMatchObject({ skipped: 2 });

    const strict = runJob(join(work, 'batch-out-strict'), {});
    expect((await strict.exited).code).toBe(1);
    expect(strict.lines().find((l) => l['msg'] === 'batch done')).toMatchObject({ ok: false });
    // Bad arguments: 2.
    const bad = start(join(pristine, 'bin/node'), [join(pristine, 'run.mjs'), 'batch'], {
      env: { PATH: '/usr/bin:/bin' },
    });
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toContain('batch mode needs --input');
  });

  it('runs an AWS Batch style job: MODELPORT_MODE=batch, model and files on S3, ECS container credentials', async () => {
    const aws = new AwsEmulator({ buckets: ['batch-bucket'] });
    await aws.start();
    // The ECS/AWS Batch credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), on 127.0.0.1.
    let credentialCalls = 0;
    const credentials: Server = createServer((_request, response) => {
      credentialCalls++;
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          AccessKeyId: 'ASIAEMULATOREXAMPLE',
          SecretAccessKey: 'emulator-secret',
          Token: 'emulator-session-token',
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => credentials.listen(0, '127.0.0.1', resolve));
    const address = credentials.address();
    const credentialsUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/creds`;
    try {
      await aws.s3.putFile('batch-bucket', 'models/iris.onnx', join(pristine, 'model/model.onnx'));
      await aws.s3.putBuffer('batch-bucket', 'input/flowers.jsonl', '[5.1,3.5,1.4,0.2]\n[6.7,3.0,5.2,2.3]\n');
      const job = start(join(pristine, 'bin/node'), [join(pristine, 'run.mjs')], {
        env: {
          PATH: '/usr/bin:/bin',
          MODELPORT_MODE: 'batch',
          MODELPORT_MODEL: 's3://batch-bucket/models/iris.onnx',
          MODELPORT_BATCH_INPUT: 's3://batch-bucket/input/',
          MODELPORT_BATCH_OUTPUT: 's3://batch-bucket/output/',
          AWS_REGION: 'us-east-1',
          AWS_ENDPOINT_URL_S3: aws.url,
          AWS_CONTAINER_CREDENTIALS_FULL_URI: credentialsUrl,
        },
      });
      const { code } = await job.exited;
      expect(job.stderr()).toBe('');
      expect(code).toBe(0);
      expect(credentialCalls).toBeGreaterThan(0);
      expect(job.lines().find((l) => l['msg'] === 'model source')).toMatchObject({
        source: 'MODELPORT_MODEL',
        from: 's3://batch-bucket/models/iris.onnx',
      });
      const out = aws.s3.get('batch-bucket', 'output/flowers.jsonl.out');
      expect(out).toBeDefined();
      const lines = (await readFile(out?.path ?? '', 'utf8')).trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { label: number }).label)).toEqual([0, 2]);
    } finally {
      await new Promise((resolve) => credentials.close(resolve));
      await aws.stop();
    }
  });

  it('listens at once while it fetches the model (503 until loaded), and exits 1 when the fetch fails', async () => {
    // A Cloud Storage that answers only when the test lets it: the image must already listen meanwhile.
    const modelBytes = await readFile(join(pristine, 'model/model.onnx'));
    let release!: (ok: boolean) => void;
    let gate = new Promise<boolean>((resolve) => (release = resolve));
    const gcs: Server = createServer((request, response) => {
      void gate.then((ok) => {
        if (!ok) {
          response.statusCode = 500;
          response.end('{"error":"backend error"}');
        } else if (request.url?.includes('alt=media') === true) {
          response.end(modelBytes);
        } else {
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify({ items: [{ name: 'm/model.onnx' }] }));
        }
      });
    });
    await new Promise<void>((resolve) => gcs.listen(0, '127.0.0.1', resolve));
    const address = gcs.address();
    const gcsUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const vertexEnv = {
      PATH: '/usr/bin:/bin',
      AIP_STORAGE_URI: 'gs://models/m',
      AIP_HEALTH_ROUTE: '/health',
      MODELPORT_GCS_ENDPOINT: gcsUrl,
    };
    try {
      const slow = start(
        join(pristine, 'bin/node'),
        [join(pristine, 'run.mjs'), '--port', '0', '--queue-port', 'off'],
        {
          env: vertexEnv,
        },
      );
      const listening = await waitForLine(slow, 'listening');
      const url = String(listening['url']);
      expect((await fetch(`${url}/health`)).status).toBe(503);
      expect((await fetch(`${url}/ping`)).status).toBe(503);
      release(true);
      await waitForLine(slow, 'edge ready');
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await postJson(`${url}/invocations`, payload)).status).toBe(200);
      await stop(slow);
      expect((await slow.exited).code).toBe(0);

      gate = new Promise<boolean>((resolve) => (release = resolve));
      const failing = start(
        join(pristine, 'bin/node'),
        [join(pristine, 'run.mjs'), '--port', '0', '--queue-port', 'off'],
        {
          env: vertexEnv,
        },
      );
      const failingUrl = String((await waitForLine(failing, 'listening'))['url']);
      expect((await fetch(`${failingUrl}/health`)).status).toBe(503);
      release(false);
      expect((await failing.exited).code).toBe(1);
      expect(failing.lines().find((l) => l['msg'] === 'model load failed')).toMatchObject({
        error: expect.stringContaining('HTTP 500') as unknown,
      });
      expect(failing.stderr()).toContain('HTTP 500');
    } finally {
      release(false);
      await new Promise((resolve) => gcs.close(resolve));
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
