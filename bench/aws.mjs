// Group "aws": applying 20 SageMaker endpoints through modelport against a hand-written raw-SDK script
// making the same calls one after another, both against the AWS emulator with 100 ms of latency per call
// (a cloud round trip, roughly). Figures: wall time A/B (target ≤ 0.3), write calls A vs B (A ≤ B), and
// the write calls of an unchanged re-apply (0). Standalone: `node bench/aws.mjs [--quick]`.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

import { ROOT } from './lib.mjs';

export const name = 'aws';
export const title =
  'AWS provider: 20 SageMaker endpoints vs a sequential raw-SDK script (emulator, 100 ms per call)';

const PROVIDER_DIR = join(ROOT, 'packages/provider-aws');
const MODEL = join(ROOT, 'examples/iris/model.onnx');
const BUCKET = 'modelport-bench-123456789012';
const ROLE = 'arn:aws:iam::123456789012:role/modelport-bench';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/modelport-serving:0.1.0';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIABENCHEXAMPLE', secretAccessKey: 'bench-secret-not-real' };
const LATENCY_MS = 100;
const POLL_MS = 20;

/** The SDK and the built packages (with the inversify that providers use), resolved where they are installed. */
async function load() {
  const fromProvider = createRequire(join(PROVIDER_DIR, 'package.json'));
  const importFrom = (id) => import(pathToFileURL(fromProvider.resolve(id)).href);
  const built = (path) => import(pathToFileURL(join(ROOT, path)).href);
  return {
    s3: await importFrom('@aws-sdk/client-s3'),
    sagemaker: await importFrom('@aws-sdk/client-sagemaker'),
    di: await built('packages/core/dist/di.js'),
    core: await built('packages/core/dist/index.js'),
    provider: await built('packages/provider-aws/dist/index.js'),
    testkit: await built('packages/testkit/dist/index.js'),
  };
}

function manifestText(endpoint) {
  return `apiVersion: modelport.dev/v1alpha1
kind: Endpoint
metadata:
  name: ${endpoint}
spec:
  mode: realtime
  model: { format: onnx, uri: ${MODEL}, image: ${IMAGE} }
  target: { provider: aws, region: ${REGION} }
  extensions:
    aws: { roleArn: ${ROLE}, bucket: ${BUCKET} }
`;
}

/** A: modelport, every manifest applied at once (each through the engine), from one fresh process state. */
async function runModelport(mods, url, files) {
  const { core, provider, di } = mods;
  const factory = new provider.DefaultAwsClientFactory({ endpoint: url, credentials: CREDENTIALS });
  const options = { ...provider.DEFAULT_OPTIONS, pollIntervalMs: POLL_MS, waitTimeoutMs: 120_000 };
  const host = new di.ContainerModuleHost();
  host.container.bind(provider.AwsClientFactory).toConstantValue(factory);
  host.container.bind(provider.AwsProviderOptions).toConstantValue(options);
  const declaration = core.readDeclaration(PROVIDER_DIR, 'builtin');
  const mp = new core.Modelport({ registry: new core.LazyProviderRegistry([declaration], host) });
  // Load the provider module (and its SDK) before the clock starts: the script's imports are not timed either.
  await mp.validate(files[0]);
  await mp.plan(files[0]);
  return mp;
}

/** B: the minimal raw-SDK script, one endpoint after the other: upload, model, config, endpoint, wait. */
async function rawScript(mods, url, endpoints, archive) {
  const { s3: S3, sagemaker: SM } = mods;
  const common = { region: REGION, endpoint: url, credentials: CREDENTIALS };
  const s3 = new S3.S3Client({ ...common, forcePathStyle: true });
  const sm = new SM.SageMakerClient(common);
  const tags = (endpoint) => [
    { Key: 'modelport.dev/managed-by', Value: 'raw-script' },
    { Key: 'modelport.dev/name', Value: endpoint },
  ];
  return async () => {
    for (const endpoint of endpoints) {
      const key = `raw/${endpoint}/model.tar.gz`;
      await s3.send(
        new S3.PutObjectCommand({ Bucket: BUCKET, Key: key, Body: archive, Tagging: `owner=${endpoint}` }),
      );
      await sm.send(
        new SM.CreateModelCommand({
          ModelName: `${endpoint}-model`,
          ExecutionRoleArn: ROLE,
          PrimaryContainer: {
            Image: IMAGE,
            ModelDataUrl: `s3://${BUCKET}/${key}`,
            Environment: { MODELPORT_MODEL_FILE: 'model.onnx' },
          },
          Tags: tags(endpoint),
        }),
      );
      await sm.send(
        new SM.CreateEndpointConfigCommand({
          EndpointConfigName: `${endpoint}-config`,
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: `${endpoint}-model`,
              InstanceType: 'ml.m5.large',
              InitialInstanceCount: 1,
            },
          ],
          Tags: tags(endpoint),
        }),
      );
      await sm.send(
        new SM.CreateEndpointCommand({
          EndpointName: endpoint,
          EndpointConfigName: `${endpoint}-config`,
          Tags: tags(endpoint),
        }),
      );
      for (;;) {
        const { EndpointStatus } = await sm.send(new SM.DescribeEndpointCommand({ EndpointName: endpoint }));
        if (EndpointStatus === 'InService') break;
        if (EndpointStatus === 'Failed') throw new Error(`${endpoint} failed`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  };
}

/** A model.tar.gz of the iris model (what the script uploads; modelport packs its own). */
function tarGz(file, name) {
  const data = readFileSync(file);
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return gzipSync(Buffer.concat([header, data, pad, Buffer.alloc(1024)]));
}

async function withEmulator(mods, fn) {
  const emulator = new mods.testkit.AwsEmulator({ buckets: [BUCKET], validate: true });
  await emulator.start();
  try {
    emulator.faults.latencyMs = LATENCY_MS;
    return await fn(emulator);
  } finally {
    await emulator.stop();
  }
}

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const count = ctx.quick ? 5 : 20;
  const mods = await load();
  const dir = join(ctx.tmpDir, 'aws');
  mkdirSync(dir, { recursive: true });
  const suffix = createHash('sha256').update(String(process.pid)).digest('hex').slice(0, 4);
  const endpoints = Array.from(
    { length: count },
    (_, i) => `bench-${suffix}-${String(i + 1).padStart(2, '0')}`,
  );
  const files = endpoints.map((endpoint) => {
    const file = join(dir, `${endpoint}.yaml`);
    writeFileSync(file, manifestText(endpoint));
    return file;
  });

  // A: modelport, all manifests applied concurrently; then the unchanged re-apply.
  const a = await withEmulator(mods, async (emulator) => {
    const mp = await runModelport(mods, emulator.url, files);
    emulator.resetCounts();
    const started = performance.now();
    const outcomes = await Promise.all(files.map((file) => mp.apply(file)));
    const ms = performance.now() - started;
    const failed = outcomes.flat().filter((o) => !o.result.ok);
    if (failed.length > 0)
      throw new Error(
        `modelport: ${failed.length} apply(s) failed: ${failed[0].result.failed[0]?.error.message}`,
      );
    const writes = emulator.writeCalls();
    const reads = emulator.readCalls();
    const inService = [...emulator.sagemaker.endpoints.values()].filter(
      (e) => e.status === 'InService',
    ).length;
    emulator.resetCounts();
    const reStarted = performance.now();
    await Promise.all(files.map((file) => mp.apply(file)));
    const reapplyMs = performance.now() - reStarted;
    const reapplyWrites = emulator.writeCalls();
    const violations = emulator.violations.length;
    return { ms, writes, reads, inService, reapplyMs, reapplyWrites, violations };
  });
  ctx.log(
    `modelport: ${count} endpoints in ${(a.ms / 1000).toFixed(1)} s, ${a.writes} writes, ${a.reads} reads; re-apply ${a.reapplyWrites} writes`,
  );

  // B: the raw script, sequential.
  const b = await withEmulator(mods, async (emulator) => {
    const script = await rawScript(mods, emulator.url, endpoints, tarGz(MODEL, 'model.onnx'));
    const warm = new mods.sagemaker.SageMakerClient({
      region: REGION,
      endpoint: emulator.url,
      credentials: CREDENTIALS,
    });
    await warm.send(new mods.sagemaker.ListModelsCommand({}));
    emulator.resetCounts();
    const started = performance.now();
    await script();
    const ms = performance.now() - started;
    return { ms, writes: emulator.writeCalls(), reads: emulator.readCalls() };
  });
  ctx.log(
    `raw script: ${count} endpoints in ${(b.ms / 1000).toFixed(1)} s, ${b.writes} writes, ${b.reads} reads`,
  );
  rmSync(dir, { recursive: true, force: true });

  const invalid =
    a.inService !== count
      ? `${a.inService}/${count} endpoints InService`
      : a.violations > 0
        ? `${a.violations} spec violations`
        : undefined;
  return {
    metrics: [
      {
        id: 'aws.apply-wall',
        label: `apply ${count} SageMaker endpoints: modelport vs a sequential raw-SDK script (${LATENCY_MS} ms/call)`,
        unit: 'ms',
        subject: a.ms,
        baseline: b.ms,
        ratio: a.ms / b.ms,
        target: { on: 'ratio', op: '<=', value: 0.3 },
        ...(invalid === undefined ? {} : { error: invalid }),
      },
      {
        id: 'aws.apply-writes',
        label: `write calls to apply ${count} endpoints: modelport vs the raw script`,
        unit: 'calls',
        subject: a.writes,
        baseline: b.writes,
        ratio: a.writes / b.writes,
        target: { on: 'ratio', op: '<=', value: 1 },
      },
      {
        id: 'aws.reapply-writes',
        label: `write calls of an unchanged re-apply of ${count} endpoints`,
        unit: 'calls',
        subject: a.reapplyWrites,
        target: { on: 'subject', op: '==', value: 0 },
        note: `re-apply took ${Math.round(a.reapplyMs)} ms (reads only)`,
      },
    ],
    details: {
      endpoints: count,
      latencyMsPerCall: LATENCY_MS,
      pollMs: POLL_MS,
      modelport: {
        ms: a.ms,
        writes: a.writes,
        reads: a.reads,
        reapplyMs: a.reapplyMs,
        reapplyWrites: a.reapplyWrites,
      },
      rawScript: { ms: b.ms, writes: b.writes, reads: b.reads },
    },
  };
}

// Standalone: node bench/aws.mjs [--quick]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tmp = join(tmpdir(), `modelport-bench-aws-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const result = await run({
    quick: process.argv.includes('--quick'),
    tmpDir: tmp,
    stateDir: tmp,
    cleanup: undefined,
    log: (m) => console.error(`[aws] ${m}`),
  });
  rmSync(tmp, { recursive: true, force: true });
  console.log(JSON.stringify(result, null, 2));
}
