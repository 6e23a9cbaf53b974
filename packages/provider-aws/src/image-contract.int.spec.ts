// The portable serving image against the platform contracts of SageMaker hosting, Batch Transform and AWS
// Batch, as the emulator encodes them: every model container is the real image (with a decoy model baked
// in), started as the platform starts it. Each behaviour is checked with the real image and with an image
// broken on purpose for that behaviour, which must fail the same check.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerImage } from '@modelport/testkit';
import { BIND_TO_PORT_LABEL, imageVariant, referencePredictions } from '@modelport/testkit';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTarGz } from './tar-writer.js';
import type { Harness } from './testing/harness.js';
import { BUCKET, IRIS_MODEL, ROOT, SERVING_IMAGE, startHarness } from './testing/harness.js';
import {
  exitsAtStart,
  fakeImage,
  ignoresModelPath,
  neverExits,
  servingImage,
  wrongPort,
} from './testing/images.js';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const PAYLOAD = join(ROOT, 'examples/iris/payload.json');
const FLOWERS = join(ROOT, 'examples/iris/batch-input/flowers.jsonl');

let h: Harness;
let image: ContainerImage;
let instances: unknown[];
let expected: { predictions: unknown[] };
let flowers: unknown[];
let expectedFlowers: unknown[];

beforeAll(async () => {
  // A short health-check bound, so a container that never answers /ping fails its endpoint quickly.
  h = await startHarness({ healthCheckTimeoutMs: 15_000, batchSecondMs: 25 });
  h.emulator.batch.createQueue('modelport-jobs');
  image = await servingImage();
  instances = (JSON.parse(await readFile(PAYLOAD, 'utf8')) as { instances: unknown[] }).instances;
  expected = await referencePredictions(IRIS_MODEL, instances);
  flowers = (await readFile(FLOWERS, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
  expectedFlowers = (await referencePredictions(IRIS_MODEL, flowers)).predictions;
});

afterAll(async () => {
  await h?.stop();
});

/** Pushes `pushed` as `<ECR>/<repository>:1` and returns the reference. */
function push(repository: string, pushed: ContainerImage): string {
  const reference = `${ECR}/${repository}:1`;
  h.emulator.images.push(reference, pushed);
  return reference;
}

/** A copy of an example whose image is `reference` and whose name is `name`. */
function manifestWith(
  example: string,
  name: string,
  reference: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  return h.manifest(example, `${name}.yaml`, [
    [SERVING_IMAGE, reference],
    [/^ {2}name: .*$/m, `  name: ${name}`],
    ...edits,
  ]);
}

/** Applies a real-time endpoint of the iris example with `reference` and returns what it predicts (or why not). */
async function irisEndpoint(
  name: string,
  reference: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<{ predictions?: unknown; failure?: string; manifest: string }> {
  const manifest = await manifestWith('iris-realtime.yaml', name, reference, [
    // Blue/green settings and alarms are beside the point here.
    [/ {2}traffic:\n(?: {4}.*\n)+/, ''],
    [/ {6}rollbackAlarms: .*\n/, ''],
    ...edits,
  ]);
  const [outcome] = await h.modelport().apply(manifest);
  if (outcome?.result.ok !== true) {
    return {
      failure: [
        ...(outcome?.result.failed ?? []).map((f) => f.error.message),
        h.emulator.sagemaker.endpoints.get(name)?.failureReason ?? '',
      ].join('\n'),
      manifest,
    };
  }
  const response = await h
    .modelport()
    .invoke(manifest, { body: Buffer.from(JSON.stringify({ instances })), contentType: 'application/json' });
  return { predictions: JSON.parse(Buffer.from(response.body).toString('utf8')) as unknown, manifest };
}

async function destroy(manifest: string): Promise<void> {
  await h.modelport().destroy(manifest);
}

describe('SageMaker hosting runs the image: docker run <image> serve', { sequential: true }, () => {
  it('the real image serves the model SageMaker mounts at /opt/ml/model, not the decoy baked into it', async () => {
    const good = await irisEndpoint('good', push('good', image));
    expect(good.failure).toBeUndefined();
    expect(good.predictions).toEqual(expected);
    // One container per variant, started with `serve`, the model in /opt/ml/model, and a port of its own.
    const endpoint = h.emulator.sagemaker.endpoints.get('good');
    const container = endpoint === undefined ? undefined : h.emulator.sagemaker.servingContainer(endpoint);
    expect(container?.container.exit()).toBeUndefined();
    // The container's own 4xx comes back as ModelError (424) with its status as OriginalStatusCode.
    const refused = await h.factory
      .clients('us-east-1')
      .runtime.send(
        new InvokeEndpointCommand({
          EndpointName: 'good',
          Body: Buffer.from('{"instances": "not rows"}'),
          ContentType: 'application/json',
        }),
      )
      .then(
        () => undefined,
        (error: unknown) =>
          error as { name: string; OriginalStatusCode?: number; $metadata: { httpStatusCode?: number } },
      );
    expect(refused?.name).toBe('ModelError');
    expect(refused?.$metadata.httpStatusCode).toBe(424);
    expect(refused?.OriginalStatusCode).toBe(400);
    await destroy(good.manifest);
    // DeleteEndpoint stops the container.
    await container?.container.exited;
    expect(container?.container.exit()).toBeDefined();
  });

  it('an image that ignores the model path answers the decoy: the same check fails', async () => {
    const stubborn = await irisEndpoint('stubborn', push('stubborn', ignoresModelPath(image)));
    expect(stubborn.failure).toBeUndefined();
    expect(stubborn.predictions).not.toEqual(expected);
    await destroy(stubborn.manifest);
  });

  it('an image that listens on its own port never passes the ping health check: the endpoint fails', async () => {
    const deaf = await irisEndpoint('deaf', push('deaf', await wrongPort(image)));
    expect(deaf.predictions).toBeUndefined();
    expect(deaf.failure).toMatch(/did not pass the ping health check/);
    expect(deaf.failure).toMatch(/did not answer 200 within 15000 ms/);
    await destroy(deaf.manifest);
  }, 60_000);

  it('an image that exits at start fails the endpoint with the last lines of its log', async () => {
    const broken = await irisEndpoint('exits', push('exits', exitsAtStart(image)));
    expect(broken.failure).toMatch(/exited \(code 3\)/);
    expect(broken.failure).toMatch(/broken on purpose/);
    await destroy(broken.manifest);
  });

  it('an image without the accept-bind-to-port label is not run (the emulator cannot give it port 8080)', async () => {
    const { [BIND_TO_PORT_LABEL]: _label, ...labels } = image.config.Labels ?? {};
    const unlabelled = await irisEndpoint(
      'unlabelled',
      push('unlabelled', imageVariant(image, { Labels: labels })),
    );
    expect(unlabelled.failure).toMatch(
      /labelled com\.amazonaws\.sagemaker\.capabilities\.accept-bind-to-port=true/,
    );
    await destroy(unlabelled.manifest);
  });

  it("a user's s3://…/model.tar.gz is the model served, not the image's (A4)", async () => {
    const archive = join(h.dir, 'user-model.tar.gz');
    await writeTarGz(archive, [{ name: 'iris.onnx', source: { path: IRIS_MODEL } }]);
    await h.emulator.s3.putFile(BUCKET, 'models/iris/model.tar.gz', archive);
    const served = await irisEndpoint('from-s3', SERVING_IMAGE, [
      [/uri: \S+model\.onnx/, `uri: s3://${BUCKET}/models/iris/model.tar.gz`],
    ]);
    expect(served.failure).toBeUndefined();
    expect(served.predictions).toEqual(expected);
    await destroy(served.manifest);
  });

  it('the declared signature packed beside the model in model.tar.gz is the one served (M3)', async () => {
    // Only the label output: the image must read signature.json from /opt/ml/model to drop the probabilities.
    const served = await irisEndpoint('signature', SERVING_IMAGE, [
      [/ {8}- name: probabilities\n(?: {10}.*\n)+/, ''],
    ]);
    expect(served.failure).toBeUndefined();
    // One output: each prediction is the label itself (the runtime's single-output form), from iris.
    expect(served.predictions).toEqual({
      predictions: expected.predictions.map((p) => (p as Record<string, unknown>)['label']),
    });
    await destroy(served.manifest);
  });

  it('a model prefix (trailing /) is an S3Prefix, mounted as a folder (M12)', async () => {
    await h.emulator.s3.putFile(BUCKET, 'models/prefix/iris.onnx', IRIS_MODEL);
    const served = await irisEndpoint('from-prefix', SERVING_IMAGE, [
      [/uri: \S+model\.onnx/, `uri: s3://${BUCKET}/models/prefix/`],
    ]);
    expect(served.failure).toBeUndefined();
    const model = [...h.emulator.sagemaker.models.values()].find((m) => m.name.startsWith('from-prefix'));
    expect(model?.request['PrimaryContainer']).toMatchObject({
      ModelDataSource: { S3DataSource: { S3DataType: 'S3Prefix', CompressionType: 'None' } },
      Environment: { MODELPORT_MODEL: '/opt/ml/model' },
    });
    expect(served.predictions).toEqual(expected);
    await destroy(served.manifest);
  });

  it('CreateModel refuses an image it cannot find and one pushed with an OCI manifest (A1)', async () => {
    const missing = await irisEndpoint('missing', `${ECR}/not-pushed:1`);
    expect(missing.failure).toMatch(`Requested image ${ECR}/not-pushed:1 not found.`);
    const oci = await irisEndpoint(
      'oci',
      push('oci', { ...image, manifestMediaType: 'application/vnd.oci.image.manifest.v1+json' }),
    );
    expect(oci.failure).toMatch(
      /Unsupported manifest media type application\/vnd\.oci\.image\.manifest\.v1\+json for image/,
    );
    const index = await irisEndpoint(
      'oci-index',
      push('oci-index', { ...image, manifestMediaType: 'application/vnd.oci.image.index.v1+json' }),
    );
    expect(index.failure).toMatch(
      /Unsupported manifest media type application\/vnd\.oci\.image\.index\.v1\+json/,
    );
    expect(h.emulator.sagemaker.models.size).toBe(0);
  });

  it("InvokeEndpoint passes the caller's Content-Type, Accept and custom attributes to /invocations", async () => {
    const echo = push('echo', await fakeImage(join(h.dir, 'echo-image')));
    const endpoint = await irisEndpoint('echo', echo);
    expect(endpoint.failure).toBeUndefined();
    const answer = await h.factory.clients('us-east-1').runtime.send(
      new InvokeEndpointCommand({
        EndpointName: 'echo',
        Body: Buffer.from('{"a":1}\n'),
        ContentType: 'application/jsonlines',
        Accept: 'text/csv',
        CustomAttributes: 'trace=1',
      }),
    );
    const seen = JSON.parse(
      Buffer.from(answer.Body ?? [])
        .toString('utf8')
        .trim(),
    ) as Record<string, unknown>;
    expect(seen).toMatchObject({
      args: ['serve'],
      contentType: 'application/jsonlines',
      accept: 'text/csv',
      customAttributes: 'trace=1',
    });
    expect((seen['env'] as Record<string, string>)['SAGEMAKER_BIND_TO_PORT']).toMatch(/^\d+$/);
    expect((seen['env'] as Record<string, string>)['MODELPORT_MODEL']).not.toBe('/opt/ml/model');
    await destroy(endpoint.manifest);
  });
});

describe(
  'Batch Transform calls /invocations with the job’s ContentType and Accept',
  { sequential: true },
  () => {
    async function transform(
      name: string,
      reference: string,
      edits: readonly [string | RegExp, string][] = [],
    ): Promise<{ ok: boolean; output: string; failure: string }> {
      const output = join(h.dir, `${name}-output`);
      const manifest = await manifestWith('iris-transform.yaml', name, reference, [
        ['output: ./transform-output', `output: ${output}`],
        ...edits,
      ]);
      const [outcome] = await h.modelport().apply(manifest);
      const job = [...h.emulator.sagemaker.transformJobs.values()].find((j) => j.name.startsWith(name));
      return { ok: outcome?.result.ok === true, output, failure: job?.failureReason ?? '' };
    }

    it('the real image scores JSON Lines mini-batches (Accept application/jsonlines) into <file>.out', async () => {
      const run = await transform('tf-good', SERVING_IMAGE);
      expect(run.failure).toBe('');
      const job = [...h.emulator.sagemaker.transformJobs.values()].find((j) => j.name.startsWith('tf-good'));
      expect(job?.request).toMatchObject({
        TransformInput: { ContentType: 'application/jsonlines', SplitType: 'Line' },
        TransformOutput: { Accept: 'application/jsonlines', AssembleWith: 'Line' },
      });
      const written = (await readFile(join(run.output, 'flowers.jsonl.out'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(written).toEqual(expectedFlowers);
    });

    it('an image that ignores the model path writes the decoy’s predictions: the same check fails', async () => {
      const run = await transform('tf-stubborn', push('tf-stubborn', ignoresModelPath(image)));
      expect(run.failure).toBe('');
      const written = (await readFile(join(run.output, 'flowers.jsonl.out'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(written).toHaveLength(expectedFlowers.length);
      expect(written).not.toEqual(expectedFlowers);
    });

    it('CSV input is sent as text/csv and asked back as text/csv (A2)', async () => {
      const input = join(h.dir, 'csv-input');
      await mkdir(input, { recursive: true });
      await writeFile(join(input, 'flowers.csv'), '5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n');
      const run = await transform('tf-csv', SERVING_IMAGE, [
        [/input: \S+batch-input/, `input: ${input}`],
        ['format: jsonl', 'format: csv'],
      ]);
      expect(run.failure).toBe('');
      const job = [...h.emulator.sagemaker.transformJobs.values()].find((j) => j.name.startsWith('tf-csv'));
      expect(job?.request).toMatchObject({
        TransformInput: { ContentType: 'text/csv' },
        TransformOutput: { Accept: 'text/csv' },
      });
      const written = (await readFile(join(run.output, 'flowers.csv.out'), 'utf8')).trim().split('\n');
      expect(written).toHaveLength(2);
    });

    it('an image that answers 415 to JSON Lines fails the job with the status and body', async () => {
      const refusing = push(
        'refuses-jsonl',
        await fakeImage(join(h.dir, 'refusing-image'), { refuseTypes: ['application/jsonlines'] }),
      );
      const run = await transform('tf-415', refusing);
      expect(run.ok).toBe(false);
      expect(run.failure).toMatch(/answered 415 to POST \/invocations/);
      expect(run.failure).toMatch(/unsupported_media_type/);
    });

    it('the platform side: serve, SAGEMAKER_BATCH, GET /execution-parameters first, mini-batches within MaxPayloadInMB', async () => {
      const recorder = push('recorder', await fakeImage(join(h.dir, 'recorder-image')));
      const input = join(h.dir, 'big-input');
      await mkdir(input, { recursive: true });
      // ~2.5 MB of records with miniBatchMB 1: at least three mini-batches, each at most 1 MiB.
      const record = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]], pad: 'x'.repeat(1000) });
      await writeFile(join(input, 'big.jsonl'), `${Array.from({ length: 2500 }, () => record).join('\n')}\n`);
      const run = await transform('tf-recorder', recorder, [
        [/input: \S+batch-input/, `input: ${input}`],
        ['miniBatchMB: 6', 'miniBatchMB: 1'],
        ['concurrency: 4', 'concurrency: 2'],
      ]);
      expect(run.failure).toBe('');
      const seen = (await readFile(join(run.output, 'big.jsonl.out'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(seen).toHaveLength(2500);
      expect(seen[0]).toMatchObject({
        args: ['serve'],
        contentType: 'application/jsonlines',
        accept: 'application/jsonlines',
        executionParameters: 1,
        env: {
          SAGEMAKER_BATCH: 'true',
          SAGEMAKER_MAX_PAYLOAD_IN_MB: '1',
          SAGEMAKER_BATCH_STRATEGY: 'MULTI_RECORD',
          SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '2',
        },
      });
      const sizes = new Map(seen.map((s) => [s['request'], s['bytes'] as number]));
      expect(sizes.size).toBeGreaterThanOrEqual(3);
      for (const bytes of sizes.values()) expect(bytes).toBeLessThanOrEqual(1024 * 1024);
    });
  },
);

describe('AWS Batch runs the image with the job definition’s command', { sequential: true }, () => {
  async function batchJob(
    name: string,
    reference: string,
    edits: readonly [string | RegExp, string][] = [],
  ): Promise<{ ok: boolean; status?: string; reason?: string; id?: string; failure: string }> {
    const manifest = await manifestWith('iris-aws-batch.yaml', name, reference, [
      [/ {4}schedule: .*\n/, ''],
      ['scored/iris/', `scored/${name}/`],
      ...edits,
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    const job = [...h.emulator.batch.jobs.values()].find((j) => j.name.startsWith(name));
    return {
      ok: outcome?.result.ok === true,
      failure: (outcome?.result.failed ?? []).map((f) => f.error.message).join('\n'),
      ...(job === undefined ? {} : { status: job.status, id: job.id }),
      ...(job?.statusReason === undefined ? {} : { reason: job.statusReason }),
    };
  }

  beforeAll(async () => {
    await h.emulator.s3.putFile(BUCKET, 'incoming/iris/flowers.jsonl', FLOWERS);
  });

  it('the real image runs `batch` to completion with the job role’s container credentials (A3)', async () => {
    const run = await batchJob('job-good', SERVING_IMAGE);
    expect(run.status).toBe('SUCCEEDED');
    const definition = h.emulator.batch.definitions.find((d) => d.name === 'job-good');
    expect(definition?.request).toMatchObject({ containerProperties: { command: ['batch'] } });
    const object = h.emulator.s3.get(BUCKET, 'scored/job-good/flowers.jsonl.out');
    const written = (await readFile(object?.path ?? '', 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(written).toEqual(expectedFlowers);
    // The container fetched the role's temporary credentials and signed its S3 calls with them.
    const issued = [...h.emulator.batch.credentials.values()].filter((c) => c.jobId === run.id);
    expect(issued.length).toBeGreaterThan(0);
    expect(issued.some((c) => c.fetched > 0 && h.emulator.accessKeys.has(c.accessKeyId))).toBe(true);
  }, 60_000);

  it('an image that ignores the model it is given scores with the decoy: the same check fails', async () => {
    const run = await batchJob('job-stubborn', push('job-stubborn', ignoresModelPath(image)));
    expect(run.status).toBe('SUCCEEDED');
    const object = h.emulator.s3.get(BUCKET, 'scored/job-stubborn/flowers.jsonl.out');
    const written = (await readFile(object?.path ?? '', 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(written).toHaveLength(expectedFlowers.length);
    expect(written).not.toEqual(expectedFlowers);
  }, 60_000);

  it('an image that never exits in batch mode fails the job at its attempt timeout', async () => {
    // limits.timeoutSeconds 60 → attemptDurationSeconds 60 (1.5 s at the test's 25 ms per second).
    const run = await batchJob('job-serves', push('serves-only', await neverExits(image)), [
      ['  batch:\n', '  limits:\n    timeoutSeconds: 60\n  batch:\n'],
    ]);
    expect(run.ok).toBe(false);
    expect(run.status).toBe('FAILED');
    expect(run.reason).toBe('Job attempt duration exceeded timeout');
    // Not retried after a timeout, although the definition allows 3 attempts.
    const job = [...h.emulator.batch.jobs.values()].find((j) => j.id === run.id);
    expect(job?.attempts).toHaveLength(1);
  }, 60_000);

  it('a container that exits non-zero fails the job: Essential container in task exited', async () => {
    const run = await batchJob('job-exits', push('exits-batch', exitsAtStart(image)), [
      ['maxRetries: 2', 'maxRetries: 0'],
    ]);
    expect(run.status).toBe('FAILED');
    expect(run.reason).toBe('Essential container in task exited');
    const job = [...h.emulator.batch.jobs.values()].find((j) => j.id === run.id);
    expect(job?.exitCode).toBe(3);
    // The provider names the exit code; the output is the job's log stream.
    expect(run.failure).toMatch(/failed: Essential container in task exited \(exit code 3\)/);
    expect(job?.logs).toMatch(/broken on purpose/);
  }, 60_000);
});

describe('the emulator stops what it started', () => {
  it('stop() ends every endpoint container (by PID, through the runner)', async () => {
    const endpoint = await irisEndpoint('left-running', SERVING_IMAGE);
    expect(endpoint.failure).toBeUndefined();
    const serving = h.emulator.sagemaker.servingContainer(
      h.emulator.sagemaker.endpoints.get('left-running') ?? ({} as never),
    );
    expect(serving?.container.exit()).toBeUndefined();
    const stopping = h;
    h = undefined as unknown as Harness;
    await stopping.stop();
    expect(serving?.container.exit()).toBeDefined();
  });
});
