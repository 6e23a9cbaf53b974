// Vertex AI's model containers in the emulator are the real serving image, started as Vertex starts a
// custom container (custom-container-requirements): the ingested image, containerSpec command/args/env,
// the AIP_* variables, the model fetched from AIP_STORAGE_URI (a copy of artifactUri), the TCP liveness
// probe, health checks, then `{instances}` POSTed to the predict route. Deliberately broken images fail.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as AiplatformModule from '@google-cloud/aiplatform';
import type * as GrpcModule from '@grpc/grpc-js';
import type * as GaxModule from 'google-gax';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ImageRegistry, imageVariant, type ContainerImage } from '../shared/containers.js';
import { expandVariables } from './model-containers.js';
import { pinnedServingImage } from './pinned-image.js';
import type { VertexContainerTiming } from './model-containers.js';
import { VertexEmulator } from './vertex-emulator.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const require = createRequire(import.meta.url);
const aiplatform = require('@google-cloud/aiplatform') as typeof AiplatformModule;
const gax = require('google-gax') as typeof GaxModule;
const grpc = require('@grpc/grpc-js') as typeof GrpcModule;
const IRIS = fileURLToPath(new URL('../../../../../examples/iris/model.onnx', import.meta.url));
const PARENT = 'projects/p1/locations/us-central1';
const IMAGE = 'us-central1-docker.pkg.dev/p1/modelport/modelport-serving:0.1.0';
// Setosa, then virginica: iris labels 0 and 2. The decoy baked into the image answers otherwise.
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];
const lro = { longrunning: gax.createBackoffSettings(5, 1, 5, null, null, null, 60_000) };

let image: ContainerImage;
let emulator: VertexEmulator | undefined;

beforeAll(async () => {
  image = await pinnedServingImage();
});

afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

interface Clients {
  models: InstanceType<typeof aiplatform.v1.ModelServiceClient>;
  endpoints: InstanceType<typeof aiplatform.v1.EndpointServiceClient>;
  predictions: InstanceType<typeof aiplatform.v1.PredictionServiceClient>;
  jobs: InstanceType<typeof aiplatform.v1.JobServiceClient>;
}

async function start(
  served: ContainerImage | undefined,
  timing: VertexContainerTiming = {},
): Promise<Clients> {
  const images = new ImageRegistry();
  if (served !== undefined) images.push(IMAGE, served);
  emulator = new VertexEmulator({
    buckets: ['b1'],
    operationMs: 10,
    images,
    containers: { livenessIntervalMs: 1_000, restartBackoffMs: 200, ...timing },
  });
  const { address } = await emulator.start();
  emulator.gcs.put('b1', 'art/iris/model.onnx', await readFile(IRIS));
  const token = new gax.googleAuthLibrary.OAuth2Client();
  token.setCredentials({ access_token: 'fake' });
  const [host = '127.0.0.1', port] = address.split(':');
  const options = {
    apiEndpoint: host,
    port: Number(port),
    sslCreds: grpc.credentials.createInsecure(),
    authClient: token,
    universeDomain: 'googleapis.com',
  };
  const clients: Clients = {
    models: new aiplatform.v1.ModelServiceClient(options),
    endpoints: new aiplatform.v1.EndpointServiceClient(options),
    predictions: new aiplatform.v1.PredictionServiceClient(options),
    jobs: new aiplatform.v1.JobServiceClient(options),
  };
  const stop = emulator.stop.bind(emulator);
  emulator.stop = async () => {
    await Promise.all(Object.values(clients).map((c: { close(): Promise<void> }) => c.close()));
    await stop();
  };
  return clients;
}

type ContainerSpec = NonNullable<Parameters<Clients['models']['uploadModel']>[0]['model']>['containerSpec'];

async function upload(c: Clients, id: string, spec: ContainerSpec = {}): Promise<string> {
  const [op] = await c.models.uploadModel(
    {
      parent: PARENT,
      modelId: id,
      model: {
        displayName: id,
        artifactUri: 'gs://b1/art/iris',
        containerSpec: { imageUri: IMAGE, predictRoute: '/predict', healthRoute: '/health', ...spec },
      },
    },
    lro,
  );
  const [done] = await op.promise();
  return done.model ?? '';
}

async function deploy(
  c: Clients,
  model: string,
  endpointId = 'e1',
): Promise<{ endpoint: string; id: string }> {
  const [created] = await (
    await c.endpoints.createEndpoint(
      { parent: PARENT, endpointId, endpoint: { displayName: endpointId } },
      lro,
    )
  )[0].promise();
  const [deployed] = await (
    await c.endpoints.deployModel(
      {
        endpoint: created.name ?? '',
        deployedModel: {
          model,
          dedicatedResources: { machineSpec: { machineType: 'n1-standard-2' }, minReplicaCount: 1 },
        },
        trafficSplit: { '0': 100 },
      },
      lro,
    )
  )[0].promise();
  return { endpoint: created.name ?? '', id: deployed.deployedModel?.id ?? '' };
}

async function labels(c: Clients, endpoint: string, rows: unknown[] = ROWS): Promise<number[]> {
  const [answer] = await c.predictions.predict({
    endpoint,
    instances: rows.map((r) => aiplatform.helpers.toValue(r as object) as never),
  });
  return (answer.predictions ?? []).map((p) => p.structValue?.fields?.['label']?.numberValue ?? -1);
}

describe('a deployed model is the serving image started as Vertex starts a custom container', () => {
  it('gets the AIP_* variables and a copy of its artifacts in AIP_STORAGE_URI, and serves the model it is given', async () => {
    const c = await start(image);
    const model = await upload(c, 'iris-1', { env: [{ name: 'GREETING', value: 'port $(AIP_HTTP_PORT)' }] });
    const { endpoint, id } = await deploy(c, model);
    const serving = emulator?.serving.get(id);
    expect(serving?.env).toMatchObject({
      AIP_HTTP_PORT: String(serving?.port),
      AIP_HEALTH_ROUTE: '/health',
      AIP_PREDICT_ROUTE: '/predict',
      AIP_DEPLOYED_MODEL_ID: id,
      AIP_ENDPOINT_ID: 'e1',
      AIP_MODE: 'PREDICTION',
      AIP_STORAGE_URI: expect.stringMatching(/^gs:\/\/vertex-ai-managed-p1\/.+\/artifacts$/),
      GREETING: `port ${String(serving?.port)}`,
    });
    // The copy is a copy: the container read the managed location, not artifactUri.
    const copied = /^gs:\/\/([^/]+)\/(.+)$/.exec(serving?.env['AIP_STORAGE_URI'] ?? '');
    expect(emulator?.gcs.get(copied?.[1] ?? '', `${copied?.[2] ?? ''}/model.onnx`)).toBeDefined();
    expect(serving?.container.logs()).toContain(serving?.env['AIP_STORAGE_URI']);
    expect(await labels(c, endpoint)).toEqual([0, 2]);
    // Undeploying stops the container.
    const [undeploy] = await c.endpoints.undeployModel({ endpoint, deployedModelId: id }, lro);
    await undeploy.promise();
    expect(serving?.container.exit()).toBeDefined();
    expect(emulator?.serving.has(id)).toBe(false);
  });

  it('restarts a deployed container that exits; predictions fail with UNAVAILABLE until it is healthy again', async () => {
    const c = await start(image);
    const { endpoint, id } = await deploy(c, await upload(c, 'iris-crash'));
    const first = emulator?.serving.get(id);
    process.kill(first?.container.pid ?? 0, 'SIGKILL');
    await first?.container.exited;
    await expect(labels(c, endpoint)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    for (let i = 0; i < 300 && emulator?.restarts.get(id) !== 1; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(emulator?.restarts.get(id)).toBe(1);
    expect(emulator?.serving.get(id)).not.toBe(first);
    expect(await labels(c, endpoint)).toEqual([0, 2]);
  });

  it('runs containerSpec.command and args (with $(VAR) expanded) in place of the entrypoint', async () => {
    const c = await start(image);
    const model = await upload(c, 'iris-args', {
      command: image.config.Entrypoint ?? [],
      args: ['serve', '--port', '$(AIP_HTTP_PORT)', '--name', '$(AIP_MODEL_NAME)'],
    });
    const { endpoint, id } = await deploy(c, model);
    expect(emulator?.serving.get(id)?.container.logs()).toMatch(/"model":"iris-args"/);
    expect(await labels(c, endpoint)).toEqual([0, 2]);
    expect(expandVariables('$$(A) $(A) $(B)', { A: 'x' })).toBe('$(A) x $(B)');
  });

  it('answers a container error as Vertex does: the call fails with the container body', async () => {
    const c = await start(image);
    const { endpoint } = await deploy(c, await upload(c, 'iris-bad'));
    const error = (await labels(c, endpoint, [[1, 2]]).catch((e: unknown) => e)) as {
      code: number;
      details: string;
    };
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/HTTP 400/);
  });

  it("gives the container a metadata server (GCE_METADATA_HOST) that answers the service account's token", async () => {
    const c = await start(image);
    const { id } = await deploy(c, await upload(c, 'iris-meta'));
    const host = emulator?.serving.get(id)?.env['GCE_METADATA_HOST'] ?? '';
    const url = `http://${host}/computeMetadata/v1/instance/service-accounts/default/token`;
    expect((await fetch(url)).status).toBe(403);
    const token = await fetch(url, { headers: { 'metadata-flavor': 'Google' } });
    expect(await token.json()).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer' });
  });

  it('an image that is not in the registry fails UploadModel (Vertex ingests the image there)', async () => {
    const c = await start(undefined);
    await expect(upload(c, 'no-image')).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      message: expect.stringContaining(`Failed to ingest the container image ${IMAGE}`),
    });
  });
});

describe('a broken image fails where it would fail on Vertex', () => {
  it('an image that serves its baked model, not the one in AIP_STORAGE_URI, answers the decoy', async () => {
    const stubborn = imageVariant(image, {
      Entrypoint: [...(image.config.Entrypoint ?? []), '--model', '/opt/modelport/model/decoy.onnx'],
    });
    const c = await start(stubborn);
    const { endpoint } = await deploy(c, await upload(c, 'iris-decoy'));
    expect(await labels(c, endpoint)).not.toEqual([0, 2]);
  });

  it('an image that listens on another port is restarted by the liveness probe, and the deploy fails', async () => {
    const deaf = imageVariant(image, {
      Entrypoint: [...(image.config.Entrypoint ?? []), '--port', String(await freePort())],
    });
    const c = await start(deaf, { livenessIntervalMs: 200, deploymentTimeoutMs: 4_000 });
    const model = await upload(c, 'iris-deaf');
    const error = (await deploy(c, model).catch((e: unknown) => e)) as { code: number; message: string };
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error.message).toMatch(/Model server never became ready/);
    expect(error.message).toMatch(/liveness probe could not connect/);
    expect(error.message).toMatch(/[1-9]\d* restart\(s\)/);
  });

  it('an image that opens its port only after a long load is restarted in a loop until the deployment times out', async () => {
    // Waits 6 s before it even starts the server (as an image that loads the model before it listens).
    const slow = imageVariant(image, {
      Entrypoint: [
        '/opt/modelport/bin/node',
        '-e',
        'setTimeout(() => import(require("node:url").pathToFileURL(process.argv[1]).href), 6000)',
        '/opt/modelport/run.mjs',
      ],
    });
    const c = await start(slow, { livenessIntervalMs: 300, deploymentTimeoutMs: 5_000 });
    const model = await upload(c, 'iris-slow');
    const error = (await deploy(c, model).catch((e: unknown) => e)) as { message: string };
    expect(error.message).toMatch(/Model server never became ready.*[1-9]\d* restart\(s\)/s);
    // The same image passes when the probe's four attempts span its load (Vertex: 4 × 10 s).
    await emulator?.stop();
    const patient = await start(slow, { livenessIntervalMs: 3_000, deploymentTimeoutMs: 30_000 });
    const { endpoint, id } = await deploy(patient, await upload(patient, 'iris-slow'));
    expect(emulator?.serving.get(id)?.restarts).toBe(0);
    expect(await labels(patient, endpoint)).toEqual([0, 2]);
  });
});

describe('batch prediction runs the container', () => {
  it('POSTs batches to the predict route and writes prediction.results-* and prediction.errors_stats-*', async () => {
    const c = await start(image);
    const model = await upload(c, 'iris-batch');
    const lines = [...ROWS, [1, 2], ...ROWS].map((r) => JSON.stringify(r)).join('\n');
    emulator?.gcs.put('b1', 'in/rows.jsonl', Buffer.from(`${lines}\n`));
    emulator?.gcs.put('b1', 'in/rows.csv', Buffer.from('a,b,c,d\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n'));
    const run = async (format: string, uri: string, out: string) => {
      const [job] = await c.jobs.createBatchPredictionJob({
        parent: PARENT,
        batchPredictionJob: {
          displayName: `j-${format}`,
          model,
          inputConfig: { instancesFormat: format, gcsSource: { uris: [uri] } },
          outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: out } },
          dedicatedResources: {
            machineSpec: { machineType: 'n1-standard-2' },
            startingReplicaCount: 2,
            maxReplicaCount: 2,
          },
          manualBatchTuningParameters: { batchSize: 1 },
        },
      });
      for (let i = 0; i < 600; i++) {
        const [now] = await c.jobs.getBatchPredictionJob({ name: job.name ?? '' });
        if (!['JOB_STATE_PENDING', 'JOB_STATE_RUNNING'].includes(String(now.state))) return now;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the job did not finish');
    };
    const jsonl = await run('jsonl', 'gs://b1/in/rows.jsonl', 'gs://b1/out-jsonl');
    expect(jsonl.state).toBe('JOB_STATE_SUCCEEDED');
    expect(jsonl.completionStats).toMatchObject({ successfulCount: '4', failedCount: '1' });
    const dir = (jsonl.outputInfo?.gcsOutputDirectory ?? '').replace('gs://b1/', '');
    expect(dir).toMatch(/^out-jsonl\/prediction-iris-batch-\d{4}_\d\d_\d\dT\d\d_\d\d_\d\d_\d{3}Z$/);
    const names = emulator?.gcs.list('b1', `${dir}/`).map((o) => o.name.slice(dir.length + 1));
    expect(names).toEqual([
      'prediction.errors_stats-00000-of-00001',
      'prediction.results-00000-of-00002',
      'prediction.results-00001-of-00002',
    ]);
    const results = (emulator?.gcs.list('b1', `${dir}/prediction.results-`) ?? []).flatMap((o) =>
      o.data
        .toString('utf8')
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { instance: number[]; prediction: { label: number } }),
    );
    // Every instance that could be predicted, none in input order.
    expect(results.map((r) => r.instance)).not.toEqual([ROWS[0], ROWS[1], ROWS[0], ROWS[1]]);
    expect(results.map((r) => `${JSON.stringify(r.instance)}→${r.prediction.label}`).sort()).toEqual([
      '[5.1,3.5,1.4,0.2]→0',
      '[5.1,3.5,1.4,0.2]→0',
      '[6.7,3,5.2,2.3]→2',
      '[6.7,3,5.2,2.3]→2',
    ]);
    // The batch holding [1, 2] was refused by the container (HTTP 400): counted, with its message.
    const stats = emulator?.gcs
      .get('b1', `${dir}/prediction.errors_stats-00000-of-00001`)
      ?.data.toString('utf8');
    expect(stats).toMatch(
      /^\('Post request fails\. Cannot get predictions\. Error: Non-OK result 400 .*', 1\)$/m,
    );

    const csv = await run('csv', 'gs://b1/in/rows.csv', 'gs://b1/out-csv');
    expect(csv.completionStats).toMatchObject({ successfulCount: '2', failedCount: '0' });
    // Every container of the jobs was stopped.
    expect(emulator?.runningContainers()).toBe(0);
  });
});
