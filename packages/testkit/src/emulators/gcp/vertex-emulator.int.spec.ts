// The Vertex AI emulator on its own, driven by the real @google-cloud/aiplatform gRPC clients: required
// fields checked from the protos, long-running operations that finish after polling, injected faults, and
// the fake GCS JSON API.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as AiplatformModule from '@google-cloud/aiplatform';
import type * as GrpcModule from '@grpc/grpc-js';
import type * as GaxModule from 'google-gax';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageRegistry } from '../shared/containers.js';
import { pinnedServingImage } from './pinned-image.js';
import { crc32c } from './gcs-fake.js';
import { VertexEmulator } from './vertex-emulator.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const require = createRequire(import.meta.url);
const aiplatform = require('@google-cloud/aiplatform') as typeof AiplatformModule;
const gax = require('google-gax') as typeof GaxModule;
const grpc = require('@grpc/grpc-js') as typeof GrpcModule;
const MODEL = fileURLToPath(new URL('../../../../../examples/iris/model.onnx', import.meta.url));
const PARENT = 'projects/p1/locations/europe-west4';

let emulator: VertexEmulator;
let models: InstanceType<typeof aiplatform.v1.ModelServiceClient>;
let endpoints: InstanceType<typeof aiplatform.v1.EndpointServiceClient>;
let predictions: InstanceType<typeof aiplatform.v1.PredictionServiceClient>;
const lro = { longrunning: gax.createBackoffSettings(5, 1, 5, null, null, null, 10_000) };

beforeAll(async () => {
  emulator = new VertexEmulator({
    buckets: ['b1'],
    operationMs: 20,
    images: new ImageRegistry().push('img', await pinnedServingImage()),
    containers: { livenessIntervalMs: 1_000 },
  });
  const { address } = await emulator.start();
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
  models = new aiplatform.v1.ModelServiceClient(options);
  endpoints = new aiplatform.v1.EndpointServiceClient(options);
  predictions = new aiplatform.v1.PredictionServiceClient(options);
});

afterAll(async () => {
  await Promise.all([models?.close(), endpoints?.close(), predictions?.close()]);
  await emulator?.stop();
});

async function gcs(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${emulator.gcsUrl}${path}`, init);
}

describe('Vertex AI emulator', { sequential: true }, () => {
  it("checks required fields from the protos' field_behavior annotations", async () => {
    const error = await models
      .uploadModel({ parent: PARENT, model: { displayName: 'm', containerSpec: { env: [{ name: 'A' }] } } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(emulator.violations.at(-1)).toMatch(
      /model\.containerSpec\.imageUri.*model\.containerSpec\.env\[0\]\.value/,
    );
    emulator.violations.length = 0;
  });

  it('stores GCS objects as the JSON API does (multipart upload, list, media download, delete)', async () => {
    const data = await readFile(MODEL);
    const boundary = 'b0undary';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ name: 'art/1/model.onnx', metadata: { k: 'v' } })}\r\n`,
      ),
      Buffer.from(`--${boundary}\r\ncontent-type: application/octet-stream\r\n\r\n`),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const uploaded = await gcs('/upload/storage/v1/b/b1/o?uploadType=multipart', {
      method: 'POST',
      headers: { 'content-type': `multipart/related; boundary=${boundary}` },
      body,
    });
    expect(await uploaded.json()).toMatchObject({
      name: 'art/1/model.onnx',
      size: String(data.length),
      crc32c: crc32c(data),
      metadata: { k: 'v' },
    });
    const listed = (await (await gcs('/storage/v1/b/b1/o?prefix=art/')).json()) as {
      items: { name: string }[];
    };
    expect(listed.items.map((i) => i.name)).toEqual(['art/1/model.onnx']);
    const downloaded = Buffer.from(
      await (await gcs('/storage/v1/b/b1/o/art%2F1%2Fmodel.onnx?alt=media')).arrayBuffer(),
    );
    expect(downloaded.equals(data)).toBe(true);
    expect((await gcs('/storage/v1/b/b1/o/nope?alt=media')).status).toBe(404);
  });

  it('finishes long-running operations after polling, and predicts with the deployed ONNX model', async () => {
    const [op] = await models.uploadModel(
      {
        parent: PARENT,
        modelId: 'iris-1',
        model: {
          displayName: 'iris-1',
          artifactUri: 'gs://b1/art/1',
          containerSpec: { imageUri: 'img', predictRoute: '/p', healthRoute: '/h' },
        },
      },
      lro,
    );
    expect(op.done).toBe(false);
    const [uploaded] = await op.promise();
    expect(uploaded.model).toBe(`${PARENT}/models/iris-1`);
    expect(emulator.calls.get('Operations.GetOperation')).toBeGreaterThanOrEqual(1);
    const [created] = await (
      await endpoints.createEndpoint(
        { parent: PARENT, endpointId: 'e1', endpoint: { displayName: 'e1' } },
        lro,
      )
    )[0].promise();
    const deploy = (split: Record<string, number>) =>
      endpoints.deployModel(
        {
          endpoint: created.name ?? '',
          deployedModel: {
            model: uploaded.model ?? '',
            dedicatedResources: { machineSpec: { machineType: 'n1-standard-2' }, minReplicaCount: 1 },
          },
          trafficSplit: split,
        },
        lro,
      );
    // The split must add up to 100.
    await expect(deploy({ '0': 50 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const [deployed] = await (await deploy({ '0': 100 }))[0].promise();
    const [answer] = await predictions.predict({
      endpoint: created.name ?? '',
      instances: [aiplatform.helpers.toValue([5.1, 3.5, 1.4, 0.2]) as never],
    });
    expect(answer.deployedModelId).toBe(deployed.deployedModel?.id);
    expect(answer.predictions?.[0]?.structValue?.fields?.['label']?.numberValue).toBe(0);
    // A model that is deployed cannot be deleted.
    await expect(models.deleteModel({ name: uploaded.model ?? '' })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
  });

  it('refuses a predict above 1.5 MB on a shared endpoint', async () => {
    const big = Array.from(
      { length: 70_000 },
      () => aiplatform.helpers.toValue([5.1, 3.5, 1.4, 0.2]) as never,
    );
    await expect(
      predictions.predict({ endpoint: `${PARENT}/endpoints/e1`, instances: big }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('injects UNAVAILABLE, RESOURCE_EXHAUSTED and failed operations', async () => {
    emulator.faults
      .unavailable('GetModel', 1)
      .resourceExhausted('GetModel', 1)
      .failOperation('CreateEndpoint', 'no capacity');
    const name = `${PARENT}/models/iris-1`;
    await expect(models.getModel({ name })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(models.getModel({ name })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    await expect(models.getModel({ name })).resolves.toBeDefined();
    const [op] = await endpoints.createEndpoint(
      { parent: PARENT, endpointId: 'e2', endpoint: { displayName: 'e2' } },
      lro,
    );
    await expect(op.promise()).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      message: expect.stringContaining('no capacity'),
    });
    expect(emulator.endpoints.has(`${PARENT}/endpoints/e2`)).toBe(false);
    emulator.assertNoViolations();
  });
});
