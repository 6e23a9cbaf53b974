// Group "aws": applying 20 SageMaker endpoints through modelport against a hand-written raw-SDK script
// making the same calls one after another, both against the AWS emulator with 100 ms of latency per call
// (a cloud round trip, roughly). Figures: wall time A/B (target ≤ 0.3), write calls A vs B (A ≤ B), and
// the write calls of an unchanged re-apply (0). Standalone: `node bench/aws.mjs [--quick]`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

import { applyFleet, importFrom, loadBuilt, runStandalone, warmModelport } from './fleet.mjs';
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
  const built = await loadBuilt(PROVIDER_DIR);
  return {
    ...built,
    s3: await importFrom(built.fromProvider, '@aws-sdk/client-s3'),
    sagemaker: await importFrom(built.fromProvider, '@aws-sdk/client-sagemaker'),
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
  const { provider } = mods;
  const factory = new provider.DefaultAwsClientFactory({ endpoint: url, credentials: CREDENTIALS });
  const options = { ...provider.DEFAULT_OPTIONS, pollIntervalMs: POLL_MS, waitTimeoutMs: 120_000 };
  const bindings = [
    [provider.AwsClientFactory, factory],
    [provider.AwsProviderOptions, options],
  ];
  return { mp: await warmModelport(mods, PROVIDER_DIR, bindings, files[0]) };
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
  const mods = await load();
  const { metrics, details } = await applyFleet(ctx, {
    cloud: 'aws',
    what: 'SageMaker endpoints',
    latencyMs: LATENCY_MS,
    pollMs: POLL_MS,
    manifestText,
    withCloud: (fn) => withEmulator(mods, fn),
    emulator: (emulator) => emulator,
    other: 'reads',
    modelport: (emulator, files) => runModelport(mods, emulator.url, files),
    rawScript: async (emulator, endpoints) => {
      const script = await rawScript(mods, emulator.url, endpoints, tarGz(MODEL, 'model.onnx'));
      const warm = new mods.sagemaker.SageMakerClient({
        region: REGION,
        endpoint: emulator.url,
        credentials: CREDENTIALS,
      });
      await warm.send(new mods.sagemaker.ListModelsCommand({}));
      return { run: script };
    },
    serving: (emulator) =>
      [...emulator.sagemaker.endpoints.values()].filter((e) => e.status === 'InService').length,
    servingWord: 'InService',
    violationsWord: 'spec violations',
  });
  return { metrics, details };
}

// Standalone: node bench/aws.mjs [--quick]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runStandalone('aws', run);
