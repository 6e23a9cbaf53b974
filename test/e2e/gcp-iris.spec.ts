// The done-when of the GCP provider, through the built CLI: the iris example deploys to the emulated
// Vertex AI as an endpoint (then a canary update), as batch prediction jobs (JSON Lines and CSV) and as an
// async endpoint emulated by batch prediction (one multi-document file); `modelport invoke` and `result`
// answer what the local provider answers, and the batch predictions equal the local batch runner's. Every
// Vertex model container is the real serving image (with a decoy model baked in, which answers otherwise),
// started as Vertex starts a custom container: the model it serves is the one Vertex gives it.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { VertexEmulator, VertexObject } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GCP_EXAMPLES, gcpEnv, SERVING_IMAGE_URI, startVertex } from './gcp-helpers.js';
import type { Workspace } from './helpers.js';
import {
  cliEnv,
  createWorkspace,
  exampleManifest,
  invokeAsyncWithEnv,
  invokeWithEnv,
  IRIS_DIR,
  joinManifests,
  localIris,
  writeManifest,
  localReference,
  readJsonLines,
  runCliWithEnv,
} from './helpers.js';

const PAYLOAD = join(IRIS_DIR, 'payload.json');
// A step that starts model containers (each a process of the serving image, probed before it serves) and
// runs the CLI several times: generous on a loaded machine.
const CLOUD_STEP_MS = 180_000;
const ENDPOINT = 'projects/modelport-examples/locations/us-central1/endpoints/iris';

let emulator: VertexEmulator;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let gcpFile: string;
let canaryFile: string;
let localEndpoint: string;
let localBatch: string;
let localCsvBatch: string;

async function multiDoc(file: string, timeoutSeconds: string): Promise<string> {
  const docs = [
    await exampleManifest(
      GCP_EXAMPLES,
      'iris-endpoint.yaml',
      join(ws.dir, `endpoint-${timeoutSeconds}.yaml`),
      [
        ['bakeTimeSeconds: 300', 'bakeTimeSeconds: 1'],
        ['timeoutSeconds: 30', `timeoutSeconds: ${timeoutSeconds}`],
      ],
    ),
    await exampleManifest(GCP_EXAMPLES, 'iris-batch.yaml', join(ws.dir, 'batch.yaml'), [
      ['output: ./vertex-output', `output: ${join(ws.dir, 'vertex-output')}`],
    ]),
    await exampleManifest(GCP_EXAMPLES, 'iris-batch-csv.yaml', join(ws.dir, 'batch-csv.yaml'), [
      ['input: ./batch-input-csv', `input: ${join(GCP_EXAMPLES, 'batch-input-csv')}`],
      ['output: ./vertex-output-csv', `output: ${join(ws.dir, 'vertex-output-csv')}`],
    ]),
    await exampleManifest(GCP_EXAMPLES, 'iris-async.yaml', join(ws.dir, 'async.yaml')),
  ];
  return joinManifests(file, docs);
}

beforeAll(async () => {
  emulator = await startVertex();
  ws = await createWorkspace('gcp-iris');
  env = gcpEnv(emulator, ws.stateDir);
  gcpFile = await multiDoc(join(ws.dir, 'iris-gcp.yaml'), '30');
  canaryFile = await multiDoc(join(ws.dir, 'iris-gcp-canary.yaml'), '20');
  ({ endpoint: localEndpoint, batch: localBatch } = await localIris(ws, `iris-local-gcp-${process.pid}`));
  localCsvBatch = await writeManifest(join(ws.dir, 'local-batch-csv.yaml'), 'batch', [
    [/name: iris-batch$/m, 'name: iris-batch-csv'],
    ['input: ./batch-input', `input: ${join(GCP_EXAMPLES, 'batch-input-csv')}`],
    ['output: ./batch-output', `output: ${join(ws.dir, 'local-output-csv')}`],
    ['format: jsonl', 'format: csv'],
  ]);
});

afterAll(async () => {
  await ws?.cleanup();
  await emulator?.stop();
});

describe('the iris example on emulated Vertex AI, against the local provider', { sequential: true }, () => {
  let local: unknown;

  it('the local provider answers the payload (the reference)', async () => {
    local = await localReference(localEndpoint, ws.stateDir, PAYLOAD);
  });

  it(
    'applies the endpoint, the batch prediction job and the async endpoint from one file',
    async () => {
      const applied = await runCliWithEnv(['apply', gcpFile, '--yes'], env);
      expect(applied.code, applied.stderr + applied.stdout).toBe(0);
      expect((emulator.endpoints.get(ENDPOINT)?.['deployedModels'] as VertexObject[]).length).toBe(1);
      expect([...emulator.batchJobs.values()].map((j) => j['state'])).toEqual([
        'JOB_STATE_SUCCEEDED',
        'JOB_STATE_SUCCEEDED',
      ]);
      // The endpoint's model, the two batch jobs' and the async endpoint's: all the serving image.
      expect(emulator.models.size).toBe(4);
      expect(
        [...emulator.models.values()].map((m) => (m['containerSpec'] as VertexObject)['imageUri']),
      ).toEqual(Array(4).fill(SERVING_IMAGE_URI));
      // The endpoint's model runs in a container of the image, which was given a copy of the artifacts.
      const [serving] = [...emulator.serving.values()];
      expect(serving?.env['AIP_STORAGE_URI']).toMatch(/^gs:\/\/vertex-ai-managed-modelport-examples\//);
      expect(serving?.container.logs()).toMatch(/"source":"AIP_STORAGE_URI"/);
      emulator.assertNoViolations();
    },
    CLOUD_STEP_MS,
  );

  it('invoke answers what the local provider answers', async () => {
    expect(await invokeWithEnv(env, gcpFile, PAYLOAD, 'iris')).toEqual(local);
  });

  it('list finds the deployments by their labels', async () => {
    const listed = await runCliWithEnv(
      ['--output', 'json', 'list', '--provider', 'gcp', '--region', 'us-central1'],
      {
        ...env,
        GOOGLE_CLOUD_PROJECT: 'modelport-examples',
      },
    );
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('"iris"');
    expect(listed.stdout).toContain('"iris-vertex-batch"');
    expect(listed.stdout).toContain('"iris-vertex-batch-csv"');
  });

  it(
    'a canary update shifts the traffic to the new model, which answers the same',
    async () => {
      const splits: Record<string, number>[] = [];
      const stop = emulator.faults.onCall((call, phase) => {
        if (phase === 'after' && call.method === 'UpdateEndpoint')
          splits.push({ ...(emulator.endpoints.get(ENDPOINT)?.['trafficSplit'] as Record<string, number>) });
      });
      const applied = await runCliWithEnv(['apply', canaryFile, '--yes'], env);
      stop();
      expect(applied.code, applied.stderr + applied.stdout).toBe(0);
      expect(splits.map((s) => Object.values(s).sort((a, b) => a - b))).toEqual([[20, 80], [100]]);
      expect((emulator.endpoints.get(ENDPOINT)?.['deployedModels'] as VertexObject[]).length).toBe(1);
      expect(await invokeWithEnv(env, canaryFile, PAYLOAD, 'iris')).toEqual(local);
    },
    CLOUD_STEP_MS,
  );

  it(
    'async: invoke --async prints an id, and `result <id>` (with nothing else) gives the same predictions',
    async () => {
      const { id, body } = await invokeAsyncWithEnv(env, canaryFile, 'iris-async', PAYLOAD);
      expect(id).toMatch(/^gcp\/iris-async\/modelport-examples~us-central1~\d+$/);
      expect(body).toEqual(local);
    },
    CLOUD_STEP_MS,
  );

  it('the batch prediction jobs (JSON Lines and CSV) predicted what the local batch runner writes, in order', async () => {
    const ran = await runCliWithEnv(['apply', localBatch, '--yes'], cliEnv(ws.stateDir));
    expect(ran.code, ran.stderr).toBe(0);
    const ranCsv = await runCliWithEnv(['apply', localCsvBatch, '--yes'], cliEnv(ws.stateDir));
    expect(ranCsv.code, ranCsv.stderr).toBe(0);
    // What Vertex writes for a custom container, downloaded as it is, and the ordered predictions beside it.
    expect((await readdir(join(ws.dir, 'vertex-output'))).sort()).toEqual([
      'flowers.jsonl.out',
      'prediction.errors_stats-00000-of-00001',
      'prediction.results-00000-of-00002',
      'prediction.results-00001-of-00002',
    ]);
    expect(await readJsonLines(join(ws.dir, 'vertex-output', 'flowers.jsonl.out'))).toEqual(
      await readJsonLines(join(ws.dir, 'local-output', 'flowers.jsonl.out')),
    );
    const csv = await readJsonLines(join(ws.dir, 'vertex-output-csv', 'flowers.csv.out'));
    expect(csv).toHaveLength(30);
    expect(csv).toEqual(await readJsonLines(join(ws.dir, 'local-output-csv', 'flowers.csv.out')));
  });

  it(
    're-applying makes no write call; destroy removes every deployment',
    async () => {
      const writes = emulator.writeCalls();
      const again = await runCliWithEnv(['apply', canaryFile, '--yes'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(emulator.writeCalls()).toBe(writes);
      const destroyed = await runCliWithEnv(['destroy', canaryFile, '--yes'], env);
      expect(destroyed.code, destroyed.stderr).toBe(0);
      expect(emulator.endpoints.size + emulator.models.size).toBe(0);
      // The batch prediction jobs, and the one the async request ran (it goes with its model).
      expect(emulator.batchJobs.size).toBe(0);
      // No model container is left running.
      expect(emulator.runningContainers()).toBe(0);
      emulator.assertNoViolations();
    },
    CLOUD_STEP_MS,
  );
});
