// The KServe custom-container contract, proven against the fake API server running the real serving image
// (predictor-pods.ts): deliberately broken images fail the way they would on a cluster, the storage
// initializer's layouts (one object, a prefix, a pvc:// folder) all serve the user's model, and a new
// generation retires the old pod.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ApplyOutcome } from '@modelport/core';
import type { ContainerImage } from '@modelport/testkit';
import { ImageRegistry, imageVariant } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveInferenceService } from './kube-client.js';
import type { Harness } from './testing/harness.js';
import { IRIS_MODEL, startHarness } from './testing/harness.js';

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
];
/** The iris model's labels for ROWS; the decoy baked into the test image answers otherwise. */
const IRIS_LABELS = [0, 2, 1];
const GOOD = 'ghcr.io/modelport/modelport-serving:0.1.0';
const BIN = '/opt/modelport/bin/node';
const RUN = '/opt/modelport/run.mjs';
const DECOY = '/opt/modelport/model/decoy.onnx';
/** Some port that is not the one the platform gives. */
const OTHER_PORT = 20_000 + (process.pid % 20_000);

/** The test image, and broken variants under their own references. */
function registry(image: ContainerImage): ImageRegistry {
  const entry = image.config.Entrypoint ?? [];
  return (
    new ImageRegistry()
      .push(GOOD, image)
      // Appends `--model <decoy>` to its entrypoint: KServe's args come after it and win.
      .push('registry.test/suffix-decoy:1', imageVariant(image, { Entrypoint: [...entry, '--model', DECOY] }))
      // Ignores every argument the platform gives (a shell wrapper) and serves its baked model under the name.
      .push(
        'registry.test/stubborn:1',
        imageVariant(image, {
          Entrypoint: [
            '/bin/sh',
            '-c',
            'exec "$0" "$1" --model "$2" --name "$3"',
            BIN,
            RUN,
            DECOY,
            'stubborn',
          ],
        }),
      )
      // Listens on a port of its own choosing, not the containerPort.
      .push(
        'registry.test/deaf:1',
        imageVariant(image, { Entrypoint: [...entry, '--port', String(OTHER_PORT)] }),
      )
      // Opens the port but never serves the model: a TCP check passes, the rendered HTTP probe does not.
      .push(
        'registry.test/never-ready:1',
        imageVariant(image, {
          Entrypoint: [
            BIN,
            '-e',
            "require('node:http').createServer((q, s) => { s.statusCode = 503; s.end('starting'); }).listen(Number(process.env.MODELPORT_PORT), '127.0.0.1')",
            // The platform's args follow: after `--` node hands them to the script instead of parsing them.
            '--',
          ],
        }),
      )
      // Ready, but never answers a prediction.
      .push(
        'registry.test/hangs:1',
        imageVariant(image, {
          Entrypoint: [
            BIN,
            '-e',
            "require('node:http').createServer((q, s) => { if (q.method === 'GET') s.end('ready'); }).listen(Number(process.env.MODELPORT_PORT), '127.0.0.1')",
            '--',
          ],
        }),
      )
      // Dies at start with a message.
      .push(
        'registry.test/exits:1',
        imageVariant(image, {
          Entrypoint: [
            BIN,
            '-e',
            "console.error('cannot load the model: out of memory'); process.exit(3)",
            '--',
          ],
        }),
      )
  );
}

function failure(outcome: ApplyOutcome | undefined): string {
  return outcome?.result.failed[0]?.error.message ?? '';
}

async function labels(h: Harness, manifest: string): Promise<number[]> {
  const body = new TextEncoder().encode(JSON.stringify({ instances: ROWS }));
  const response = await h.modelport().invoke(manifest, { body, contentType: 'application/json' });
  const text = new TextDecoder().decode(response.body);
  expect(response.status, text).toBe(200);
  return (JSON.parse(text) as { predictions: { label: number }[] }).predictions.map((p) => p.label);
}

describe('KServe custom container: images that start', { sequential: true, timeout: 90_000 }, () => {
  let h: Harness;
  const file = (name: string, edits: readonly [string | RegExp, string][] = []) =>
    h.manifest(`${name}.yaml`, [[/name: iris$/m, `name: ${name}`], ...edits]);

  beforeAll(async () => {
    h = await startHarness({
      serving: registry,
      provider: { waitTimeoutMs: 60_000, pollIntervalMs: 20 },
      pods: { progressDeadlineMs: 60_000 },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('an image that ignores the model it is given serves its decoy: the iris assertion fails on it', async () => {
    const manifest = await file('stubborn', [[GOOD, 'registry.test/stubborn:1']]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok, failure(outcome)).toBe(true);
    expect(await labels(h, manifest)).not.toEqual(IRIS_LABELS);
  });

  it("an entrypoint ending in --model <decoy> is overridden by KServe's args: it serves the user's model", async () => {
    const manifest = await file('suffix', [[GOOD, 'registry.test/suffix-decoy:1']]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok, failure(outcome)).toBe(true);
    expect(await labels(h, manifest)).toEqual(IRIS_LABELS);
  });

  it('a prefix URI: the storage initializer copies the folder into /mnt/models and --model /mnt/models finds the model', async () => {
    await h.putObject('s3://modelport-models/prefix/v1/iris.onnx', IRIS_MODEL);
    const manifest = await file('prefix', [
      ['uri: s3://modelport-models/iris/model.onnx', 'uri: s3://modelport-models/prefix/v1/'],
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok, failure(outcome)).toBe(true);
    expect(await labels(h, manifest)).toEqual(IRIS_LABELS);
  });

  it('a pvc:// folder is mounted as /mnt/models (a sub-path, no copy) and serves', async () => {
    const target = h.storagePath('pvc://models-claim/iris/model.onnx');
    await mkdir(dirname(target), { recursive: true });
    await copyFile(IRIS_MODEL, target);
    const manifest = await file('pvc', [
      ['uri: s3://modelport-models/iris/model.onnx', 'uri: pvc://models-claim/iris'],
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok, failure(outcome)).toBe(true);
    expect(await labels(h, manifest)).toEqual(IRIS_LABELS);
  });

  it('a new generation gets a new pod and the old one is stopped once it is ready', async () => {
    const base = await file('rollout');
    expect((await h.modelport().apply(base))[0]?.result.ok).toBe(true);
    const key = 'models/rollout';
    const before = new Set((h.server.pods?.running() ?? []).map((c) => c.pid));
    const changed = await file('rollout', [['maxReplicas: 4', 'maxReplicas: 5']]);
    const [outcome] = await h.modelport().apply(changed);
    expect(outcome?.result.ok, failure(outcome)).toBe(true);
    await h.server.pods?.idle();
    const isvc = h.server.store.objects.get(key) as LiveInferenceService | undefined;
    expect(isvc?.metadata.generation).toBe(2);
    const mine = (h.server.pods?.running() ?? []).filter((c) => c.name.startsWith(`${key}-`));
    expect(mine.map((c) => c.name)).toEqual([`${key}-2`]);
    expect(before.has(mine[0]?.pid ?? -1)).toBe(false);
    expect(await labels(h, changed)).toEqual(IRIS_LABELS);
  });

  it('a prediction that outlasts predictor.timeout (limits.timeoutSeconds) is cut by the route with a 504', async () => {
    const manifest = await file('hangs', [
      [GOOD, 'registry.test/hangs:1'],
      ['timeoutSeconds: 30', 'timeoutSeconds: 1'],
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok, failure(outcome)).toBe(true);
    const started = Date.now();
    const body = new TextEncoder().encode(JSON.stringify({ instances: ROWS }));
    const response = await h.modelport().invoke(manifest, { body, contentType: 'application/json' });
    expect(response.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('deleting the InferenceService stops its pods', async () => {
    const manifest = await file('rollout', [['maxReplicas: 4', 'maxReplicas: 5']]);
    expect((await h.modelport().destroy(manifest))[0]?.result.ok).toBe(true);
    await h.server.pods?.idle();
    expect((h.server.pods?.running() ?? []).filter((c) => c.name.startsWith('models/rollout-'))).toEqual([]);
  });
});

describe('KServe custom container: images that never serve', { sequential: true, timeout: 60_000 }, () => {
  let h: Harness;
  const file = (name: string, edits: readonly [string | RegExp, string][] = []) =>
    h.manifest(`${name}.yaml`, [[/name: iris$/m, `name: ${name}`], ...edits]);

  beforeAll(async () => {
    h = await startHarness({
      serving: registry,
      provider: { waitTimeoutMs: 30_000, pollIntervalMs: 20 },
      // A short progress deadline (the cluster's is 600 s) so that never-ready pods fail within the test.
      pods: { progressDeadlineMs: 4_000 },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('an image reference the registry does not have: Ready=False (ImagePullBackOff)', async () => {
    const manifest = await file('nopull', [[GOOD, 'registry.test/missing:9']]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(false);
    expect(failure(outcome)).toContain(
      'Ready=False (ImagePullBackOff): Back-off pulling image "registry.test/missing:9"',
    );
  });

  it('an image that listens on another port never passes its probe: ProgressDeadlineExceeded', async () => {
    const manifest = await file('deaf', [[GOOD, 'registry.test/deaf:1']]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(false);
    expect(failure(outcome)).toMatch(
      /Ready=False \(ProgressDeadlineExceeded\): the kserve-container did not pass its readiness probe \(GET \/v1\/models\/deaf on port 8080\)/,
    );
  });

  it('an image that opens the port but never loads the model is not Ready (the rendered HTTP probe, not TCP)', async () => {
    const manifest = await file('neverready', [[GOOD, 'registry.test/never-ready:1']]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(false);
    expect(failure(outcome)).toContain('Ready=False (ProgressDeadlineExceeded)');
  });

  it('an image that exits: Ready=False (RevisionFailed) with its last log lines', async () => {
    const manifest = await file('exits', [[GOOD, 'registry.test/exits:1']]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(false);
    expect(failure(outcome)).toMatch(
      /Ready=False \(RevisionFailed\): Container failed with: cannot load the model: out of memory/,
    );
  });

  it('a model URI with nothing behind it: the storage initializer fails and the container never starts', async () => {
    const manifest = await file('nomodel', [
      ['uri: s3://modelport-models/iris/model.onnx', 'uri: s3://modelport-models/nothing/model.onnx'],
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(false);
    expect(failure(outcome)).toContain(
      'Ready=False (RevisionFailed): storage-initializer: Failed to fetch model. No model found in s3://modelport-models/nothing/model.onnx.',
    );
    expect(h.server.pods?.running().filter((c) => c.name.startsWith('models/nomodel-'))).toEqual([]);
  });
});
