// The container runner every emulator uses: the real serving image, its own entrypoint, the platform's
// environment and mounts, as a host process.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  imageVariant,
  logTail,
  PathRebaser,
  startContainer,
  testServingImage,
  waitHealthy,
  type ContainerImage,
  type RunningContainer,
} from './containers.js';

const IRIS = fileURLToPath(new URL('../../../../../examples/iris/model.onnx', import.meta.url));
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

let image: ContainerImage;
let work: string;
const started: RunningContainer[] = [];

beforeAll(async () => {
  image = await testServingImage();
  work = await mkdtemp(join(tmpdir(), 'modelport-containers-'));
});

afterAll(async () => {
  await Promise.all(started.map((c) => c.stop()));
  await rm(work, { recursive: true, force: true });
});

async function sageMakerContainer(name: string, img = image): Promise<{ c: RunningContainer; port: number }> {
  const modelDir = join(work, name, 'model');
  await mkdir(modelDir, { recursive: true });
  await copyFile(IRIS, join(modelDir, 'model.onnx'));
  const port = await freePort();
  const c = await startContainer({
    image: img,
    name,
    workDir: join(work, name),
    args: ['serve'],
    env: { SAGEMAKER_BIND_TO_PORT: String(port), MODELPORT_MODEL: '/opt/ml/model' },
    mounts: { '/opt/ml/model': modelDir },
  });
  started.push(c);
  return { c, port };
}

async function labels(port: number): Promise<number[]> {
  const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ instances: ROWS }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { predictions: { label: number }[] };
  return body.predictions.map((p) => p.label);
}

describe('startContainer', () => {
  it('runs the image entrypoint with the platform env and serves the mounted model, not the baked decoy', async () => {
    const { c, port } = await sageMakerContainer('good');
    const health = await waitHealthy(c, { url: `http://127.0.0.1:${port}/ping`, timeoutMs: 30_000 });
    expect(health, logTail(c)).toEqual({ ok: true });
    // Iris: setosa then virginica. The decoy answers otherwise (checked below).
    expect(await labels(port)).toEqual([0, 2]);
  });

  it('an image that serves its baked model whatever the platform says answers the decoy', async () => {
    // `--model` wins over MODELPORT_MODEL: this image ignores the model SageMaker gives it.
    const stubborn = imageVariant(image, {
      Entrypoint: [...(image.config.Entrypoint ?? []), '--model', '/opt/modelport/model/decoy.onnx'],
    });
    const { c, port } = await sageMakerContainer('stubborn', stubborn);
    expect(await waitHealthy(c, { url: `http://127.0.0.1:${port}/ping`, timeoutMs: 30_000 })).toEqual({
      ok: true,
    });
    expect(await labels(port)).not.toEqual([0, 2]);
  });

  it('an image that listens on its own port never becomes healthy where the platform looks', async () => {
    const other = await freePort();
    const deaf = imageVariant(image, {
      Entrypoint: [...(image.config.Entrypoint ?? []), '--port', String(other)],
    });
    const { c, port } = await sageMakerContainer('deaf', deaf);
    const health = await waitHealthy(c, { url: `http://127.0.0.1:${port}/ping`, timeoutMs: 3_000 });
    expect(health.ok).toBe(false);
    expect(health.ok ? '' : health.reason).toMatch(/did not answer 200 within 3000 ms/);
  });

  it('reports an image that exits at start with its code', async () => {
    const broken = imageVariant(image, { Entrypoint: ['/opt/modelport/bin/node', '-e', 'process.exit(3)'] });
    const { c, port } = await sageMakerContainer('exits', broken);
    const health = await waitHealthy(c, { url: `http://127.0.0.1:${port}/ping`, timeoutMs: 10_000 });
    expect(health.ok ? '' : health.reason).toMatch(/exited \(code 3\)/);
  });
});

describe('PathRebaser', () => {
  it('maps mounts (longest first) and image paths, and leaves routes and host tools alone', () => {
    const paths = new PathRebaser(image.rootfs, { '/opt/ml': '/h/ml', '/opt/ml/model': '/h/model' });
    expect(paths.value('/opt/ml/model/x.onnx')).toBe('/h/model/x.onnx');
    expect(paths.value('/opt/ml/input')).toBe('/h/ml/input');
    expect(paths.value('/opt/modelport/run.mjs')).toBe(join(image.rootfs, 'opt/modelport/run.mjs'));
    expect(paths.value('/health')).toBe('/health');
    expect(paths.value('s3://b/k')).toBe('s3://b/k');
  });
});
