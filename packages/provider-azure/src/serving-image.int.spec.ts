// The portable serving image as Azure ML runs it: every online deployment of the emulator is the real image
// (its own entrypoint, the model mounted under /var/azureml-app/azureml-models and AZUREML_MODEL_DIR, the
// deployment's environment variables, readiness and liveness probes on the inferenceConfig port, scoring
// on its scoringRoute). A deliberately broken image fails here the way it would fail on Azure.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelportError } from '@modelport/core';
import type { ContainerImage } from '@modelport/testkit';
import { freePort, imageVariant, referencePredictions, testServingImage } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { IRIS_MODEL, PROBE_SCALE, ROOT, SERVING_IMAGE, startHarness } from './testing/harness.js';

let h: Harness;
let image: ContainerImage;
let reference: unknown;
const payload = JSON.parse(await readFile(join(ROOT, 'examples/iris/payload.json'), 'utf8')) as {
  instances: number[][];
};

beforeAll(async () => {
  h = await startHarness();
  image = await testServingImage();
  reference = await referencePredictions(IRIS_MODEL, payload.instances);
});

afterAll(async () => {
  await h?.stop();
});

/** The iris example under another endpoint name, with the given image in the workspace's registry. */
async function deployWith(name: string, img: ContainerImage, probeScale = PROBE_SCALE) {
  h.emulator.probeScale = probeScale;
  h.emulator.images.push(SERVING_IMAGE, img);
  const file = await h.manifest('iris-online.yaml', `${name}.yaml`, [[/name: iris$/m, `name: ${name}`]]);
  const [outcome] = await h.modelport().apply(file);
  return { file, outcome };
}

async function invoke(file: string): Promise<unknown> {
  const response = await h.modelport().invoke(file, {
    body: new TextEncoder().encode(JSON.stringify(payload)),
    contentType: 'application/json',
  });
  return JSON.parse(new TextDecoder().decode(response.body)) as unknown;
}

function failure(outcome: Awaited<ReturnType<typeof deployWith>>['outcome']): ModelportError | undefined {
  return outcome?.result.failed[0]?.error;
}

describe('the serving image as an Azure ML custom container (emulated)', { sequential: true }, () => {
  it('the real image serves the mounted iris model (AZUREML_MODEL_DIR), not its baked decoy', async () => {
    const { file, outcome } = await deployWith('image-good', image);
    expect(outcome?.result.failed).toEqual([]);
    const deployment = h.emulator
      .list('onlineEndpoints/deployments')
      .find((d) => d.id.includes('/image-good/'));
    const env = (deployment?.body['properties'] as { environmentVariables: Record<string, string> })
      .environmentVariables;
    // The provider guesses no model path: the image finds the model where Azure ML mounted it.
    expect(Object.keys(env)).not.toContain('MODELPORT_MODEL');
    expect(await invoke(file)).toEqual(reference);
    // What Azure ML gave the container: the model version's folder, mounted and named by AZUREML_MODEL_DIR,
    // and the deployment's environment variables (MODELPORT_PORT is the emulator's port stand-in).
    const version = /\/versions\/([^/]+)$/.exec(
      String((deployment?.body['properties'] as { model: string }).model),
    )?.[1];
    const container = h.emulator.userContainer(deployment?.name ?? '');
    const dir = `/var/azureml-app/azureml-models/image-good/${version ?? ''}`;
    expect(container?.env).toMatchObject({ AZUREML_MODEL_DIR: dir, MODELPORT_TIMEOUT_S: '30' });
    expect(container?.env['MODELPORT_PORT']).toMatch(/^\d+$/);
    expect(Object.keys(container?.mounts ?? {})).toEqual([dir]);
    expect(await readdir(container?.mounts[dir] ?? '')).toEqual(['model.onnx']);
  });

  it('a user container that dies is restarted (liveness, restart policy) and serves again', async () => {
    const name =
      h.emulator.list('onlineEndpoints/deployments').find((d) => d.id.includes('/image-good/'))?.name ?? '';
    const before = h.emulator.userContainer(name);
    process.kill(before?.pid ?? -1, 'SIGKILL');
    for (let i = 0; i < 200 && (h.emulator.userContainer(name)?.restarts ?? 0) === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(h.emulator.userContainer(name)?.restarts).toBe(1);
    const file = await h.manifest('iris-online.yaml', 'image-good.yaml', [
      [/name: iris$/m, 'name: image-good'],
    ]);
    let answer: unknown;
    for (let i = 0; i < 100; i++) {
      answer = await invoke(file).catch(() => undefined);
      if (answer !== undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(answer).toEqual(reference);
  });

  it('an image that serves its baked model whatever Azure mounts answers the decoy, not iris', async () => {
    const stubborn = imageVariant(image, {
      Entrypoint: [...(image.config.Entrypoint ?? []), '--model', '/opt/modelport/model/decoy.onnx'],
    });
    const { file, outcome } = await deployWith('image-decoy', stubborn);
    expect(outcome?.result.failed).toEqual([]);
    expect(await invoke(file)).not.toEqual(reference);
  });

  it('an image that listens on another port than inferenceConfig declares never gets ready: ResourceNotReady', async () => {
    const deaf = imageVariant(image, {
      Entrypoint: [...(image.config.Entrypoint ?? []), '--port', String(await freePort())],
    });
    // At 1 % of Azure's probe timing: 0.1 s + 30 × 0.1 s.
    const { outcome } = await deployWith('image-port', deaf, 0.01);
    expect(outcome?.result.ok).toBe(false);
    const message = failure(outcome)?.message ?? '';
    expect(message).toMatch(/ResourceNotReady/);
    expect(message).toMatch(/readiness probe GET \/ping on port 8080 answered nothing/);
    // The container's own log lines come with it (what get-logs shows).
    expect(message).toMatch(/Container logs/);
    expect(h.emulator.find('onlineEndpoints/deployments', 'image-port')).toBeUndefined();
  });

  it('an image that never becomes ready fails the deployment after failureThreshold probes', async () => {
    const idle = imageVariant(image, {
      Entrypoint: [
        '/opt/modelport/bin/node',
        '-e',
        'console.log("loading forever"); setInterval(() => {}, 1000)',
      ],
    });
    const started = Date.now();
    const { outcome } = await deployWith('image-idle', idle, 0.01);
    expect(outcome?.result.ok).toBe(false);
    const message = failure(outcome)?.message ?? '';
    expect(message).toMatch(/not ready after 30 probes \(failureThreshold 30/);
    expect(message).toMatch(/loading forever/);
    // initialDelay 10 s + 30 × period 10 s, at 1 % of Azure's timing.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
  });

  it('an image that exits at start fails at once, with its exit code', async () => {
    const crash = imageVariant(image, {
      Entrypoint: ['/opt/modelport/bin/node', '-e', 'console.error("no model for me"); process.exit(3)'],
    });
    const { outcome } = await deployWith('image-crash', crash);
    const message = failure(outcome)?.message ?? '';
    expect(message).toMatch(/User container has crashed or terminated \(exit code 3\)/);
    expect(message).toMatch(/no model for me/);
  });

  it('an environment whose image is not in any registry fails as Azure fails the pull', async () => {
    h.emulator.probeScale = PROBE_SCALE;
    const file = await h.manifest('iris-online.yaml', 'image-missing.yaml', [
      [/name: iris$/m, 'name: image-missing'],
      [
        '  model:\n    format: onnx\n',
        '  model:\n    format: onnx\n    image: nowhere.azurecr.io/serving:1\n',
      ],
    ]);
    const [outcome] = await h.modelport().apply(file);
    expect(failure(outcome)?.message).toMatch(
      /BadArgument.*Unable to download user container image nowhere\.azurecr\.io\/serving:1/,
    );
  });
});
