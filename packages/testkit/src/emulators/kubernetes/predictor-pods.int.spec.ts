// The fake API server's predictor pods over plain HTTP (no provider): the storage initializer's layouts, the
// real serving image as the kserve-container, KServe's default TCP probe, the port stand-in, and the status
// KServe reports for a container that fails.
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageRegistry, imageVariant, testServingImage } from '../shared/containers.js';
import { FakeKubeApiServer } from './kube-api-server.js';
import { folderStorage, initializeStorage } from './storage.js';

const IRIS = fileURLToPath(new URL('../../../../../examples/iris/model.onnx', import.meta.url));
const BASE = '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices';
const IMAGE = 'registry.test/modelport-serving:1';

let work: string;
let server: FakeKubeApiServer;
const storage = () => folderStorage(join(work, 'storage'));

async function put(uri: string, file = IRIS): Promise<void> {
  const target = storage().pathOf(uri);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(file, target);
}

function isvc(name: string, container: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name },
    spec: { predictor: { containers: [{ name: 'kserve-container', image: IMAGE, ...container }] } },
  };
}

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as Record<string, unknown>;
}

interface Status {
  url?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  modelStatus?: Record<string, unknown>;
}

/** Reads the InferenceService until its Ready condition is True or False. */
async function settled(name: string): Promise<Status> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = (await call('GET', `${BASE}/${name}`))['status'] as Status;
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True' || ready?.status === 'False') return status;
    if (Date.now() > deadline) throw new Error(`${name} never settled: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-kube-pods-test-'));
  const image = await testServingImage();
  const images = new ImageRegistry().push(IMAGE, image).push(
    'registry.test/exits:1',
    imageVariant(image, {
      Entrypoint: ['/opt/modelport/bin/node', '-e', "console.error('no GPU found'); process.exit(4)", '--'],
    }),
  );
  server = new FakeKubeApiServer({
    pods: { images, storage: storage(), workDir: join(work, 'pods'), progressDeadlineMs: 5_000 },
  });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  await rm(work, { recursive: true, force: true });
});

describe('initializeStorage (the storage-initializer step)', () => {
  it('puts a single object in /mnt/models under its file name', async () => {
    await put('s3://b/single/iris.onnx');
    const result = await initializeStorage('s3://b/single/iris.onnx', storage(), join(work, 'p1'));
    expect(result.ok && (await readdir(result.mount))).toEqual(['iris.onnx']);
  });

  it("copies a prefix's objects with their relative paths", async () => {
    await put('gs://b/prefix/v1/model.onnx');
    await writeFile(join(dirname(storage().pathOf('gs://b/prefix/v1/model.onnx')), 'signature.json'), '{}');
    const result = await initializeStorage('gs://b/prefix/', storage(), join(work, 'p2'));
    expect(result.ok && (await readdir(join(result.mount, 'v1'))).sort()).toEqual([
      'model.onnx',
      'signature.json',
    ]);
  });

  it('mounts a pvc:// sub-path as /mnt/models itself (a file sub-path is the file), without copying', async () => {
    await put('pvc://claim/models/iris.onnx');
    const file = await initializeStorage('pvc://claim/models/iris.onnx', storage(), join(work, 'p3'));
    expect(file).toEqual({ ok: true, mount: storage().pathOf('pvc://claim/models/iris.onnx') });
    const missing = await initializeStorage('pvc://claim/none', storage(), join(work, 'p4'));
    // The kubelet creates a missing sub-path: an empty folder.
    expect(missing.ok && (await stat(missing.mount)).isDirectory()).toBe(true);
  });

  it('fails like the storage initializer when nothing is behind the URI', async () => {
    expect(await initializeStorage('s3://b/nothing', storage(), join(work, 'p5'))).toEqual({
      ok: false,
      message: 'Failed to fetch model. No model found in s3://b/nothing.',
    });
  });
});

describe('predictor pods of the fake API server', () => {
  it('runs the image with the spec args; without a readinessProbe KServe probes the port (TCP); status.url serves it', async () => {
    await put('s3://b/iris/model.onnx');
    await call(
      'POST',
      BASE,
      isvc('plain', {
        args: ['--model', '/mnt/models', '--name', 'plain'],
        env: [{ name: 'STORAGE_URI', value: 's3://b/iris/model.onnx' }],
      }),
    );
    const status = await settled('plain');
    expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(status.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The image listens before the model is loaded: a TCP-ready pod may still answer 503 for a moment.
    let response: Response | undefined;
    for (let i = 0; i < 100; i++) {
      response = await fetch(`${status.url}/v1/models/plain:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }),
      });
      if (response.status !== 503) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(response?.status).toBe(200);
    expect(((await response?.json()) as { predictions: { label: number }[] }).predictions[0]?.label).toBe(0);
  });

  it('a MODELPORT_PORT in the spec that is not the containerPort is not where the pod is probed', async () => {
    await call(
      'POST',
      BASE,
      isvc('otherport', {
        args: ['--model', '/mnt/models', '--name', 'otherport'],
        env: [
          { name: 'STORAGE_URI', value: 's3://b/iris/model.onnx' },
          { name: 'MODELPORT_PORT', value: '9000' },
        ],
        readinessProbe: { httpGet: { path: '/v1/models/otherport', port: 8080 } },
      }),
    );
    const ready = (await settled('otherport')).conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });

  it("a container that exits: Ready=False (RevisionFailed) and KServe's model status (ModelLoadFailed, exit code)", async () => {
    const object = isvc('crash', { args: ['--model', '/mnt/models'] });
    (object['spec'] as { predictor: { containers: { image: string }[] } }).predictor.containers[0]!.image =
      'registry.test/exits:1';
    await call('POST', BASE, object);
    const status = await settled('crash');
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RevisionFailed',
      message: expect.stringContaining('Container failed with: no GPU found'),
    });
    expect(status.modelStatus).toMatchObject({
      transitionStatus: 'BlockedByFailedLoad',
      states: { targetModelState: 'FailedToLoad' },
      lastFailureInfo: { reason: 'ModelLoadFailed', exitCode: 4 },
    });
  });

  it('stops every pod on delete', async () => {
    for (const name of ['plain', 'otherport', 'crash']) await call('DELETE', `${BASE}/${name}`);
    await server.pods?.idle();
    expect(server.pods?.running()).toEqual([]);
  });
});
