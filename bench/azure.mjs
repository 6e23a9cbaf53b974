// Group "azure": applying 20 Azure ML online endpoints through modelport against a hand-written raw-SDK
// script making the same calls one after another (upload, model version, environment, endpoint, deployment,
// traffic, each long-running operation awaited), both against the Azure emulator (HTTPS, ARM schema checks,
// azurite for blobs) with 100 ms of latency per ARM call. Figures: wall time A/B (target ≤ 0.3), write calls
// A vs B (A ≤ B), and the write calls of an unchanged re-apply (0). Standalone: `node bench/azure.mjs [--quick]`.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ROOT } from './lib.mjs';

export const name = 'azure';
export const title =
  'Azure provider: 20 Azure ML online endpoints vs a sequential raw-SDK script (emulator, 100 ms per call)';

const PROVIDER_DIR = join(ROOT, 'packages/provider-azure');
const MODEL = join(ROOT, 'examples/iris/model.onnx');
const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const RESOURCE_GROUP = 'modelport-bench';
const WORKSPACE = 'bench-ws';
const LOCATION = 'eastus';
const IMAGE = 'modelportacr01.azurecr.io/modelport-serving:0.1.0';
const LATENCY_MS = 100;
const POLL_MS = 20;

/** The SDKs and the built packages, resolved where they are installed. */
async function load() {
  const fromProvider = createRequire(join(PROVIDER_DIR, 'package.json'));
  const importFrom = (id) => import(pathToFileURL(fromProvider.resolve(id)).href);
  const built = (path) => import(pathToFileURL(join(ROOT, path)).href);
  return {
    ml: await importFrom('@azure/arm-machinelearning'),
    blob: await importFrom('@azure/storage-blob'),
    di: await built('packages/core/dist/di.js'),
    core: await built('packages/core/dist/index.js'),
    provider: await built('packages/provider-azure/dist/index.js'),
    testkit: await built('packages/testkit/dist/index.js'),
  };
}

const credential = {
  getToken: async () => ({ token: 'bench-token', expiresOnTimestamp: Date.now() + 3600_000 }),
};

function manifestText(endpoint) {
  return `apiVersion: modelport.dev/v1alpha1
kind: Endpoint
metadata:
  name: ${endpoint}
spec:
  mode: realtime
  model: { format: onnx, uri: ${MODEL}, image: ${IMAGE} }
  target: { provider: azure, region: ${LOCATION} }
  compute: { instanceType: Standard_DS2_v2 }
  extensions:
    azure: { subscriptionId: ${SUBSCRIPTION}, resourceGroup: ${RESOURCE_GROUP}, workspace: ${WORKSPACE} }
`;
}

/** A: modelport, every manifest applied at once (each through the engine), from one fresh process state. */
async function runModelport(mods, cloud, files) {
  const { core, provider, di } = mods;
  const factory = new provider.DefaultAzureClientFactory({
    armEndpoint: cloud.emulator.url,
    credential,
    tlsCa: cloud.emulator.ca,
    blobEndpoint: cloud.azurite.blobEndpoint,
  });
  const options = { ...provider.DEFAULT_OPTIONS, pollIntervalMs: POLL_MS, waitTimeoutMs: 120_000 };
  const host = new di.ContainerModuleHost();
  host.container.bind(provider.AzureClientFactory).toConstantValue(factory);
  host.container.bind(provider.AzureProviderOptions).toConstantValue(options);
  const declaration = core.readDeclaration(PROVIDER_DIR, 'builtin');
  const mp = new core.Modelport({ registry: new core.LazyProviderRegistry([declaration], host) });
  // Load the provider module (and its SDK) before the clock starts: the script's imports are not timed either.
  await mp.validate(files[0]);
  await mp.plan(files[0]);
  return mp;
}

/** B: the minimal raw-SDK script, one endpoint after the other, every long-running operation awaited. */
function rawScript(mods, cloud, endpoints) {
  const client = new mods.ml.AzureMachineLearningWorkspaces(credential, SUBSCRIPTION, {
    endpoint: cloud.emulator.url,
    tlsOptions: { ca: cloud.emulator.ca },
  });
  const blobs = new mods.blob.BlobServiceClient(
    cloud.azurite.blobEndpoint,
    new mods.blob.StorageSharedKeyCredential(cloud.azurite.accountName, cloud.azurite.accountKey),
  ).getContainerClient(mods.testkit.DATASTORE_CONTAINER);
  const ws = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.MachineLearningServices/workspaces/${WORKSPACE}`;
  const poll = { updateIntervalInMs: POLL_MS };
  const model = readFileSync(MODEL);
  return async () => {
    for (const endpoint of endpoints) {
      const tags = { 'modelport.dev.managed-by': 'raw-script', 'modelport.dev.name': endpoint };
      const path = `raw/${endpoint}/model.onnx`;
      await blobs.getBlockBlobClient(path).uploadData(model);
      await client.modelVersions.createOrUpdate(RESOURCE_GROUP, WORKSPACE, endpoint, '1', {
        properties: {
          modelUri: `azureml://subscriptions/${SUBSCRIPTION}/resourcegroups/${RESOURCE_GROUP}/workspaces/${WORKSPACE}/datastores/workspaceblobstore/paths/${path}`,
          modelType: 'custom_model',
          tags,
        },
      });
      await client.environmentVersions.createOrUpdate(RESOURCE_GROUP, WORKSPACE, `${endpoint}-env`, '1', {
        properties: {
          image: IMAGE,
          inferenceConfig: {
            livenessRoute: { path: '/ping', port: 8080 },
            readinessRoute: { path: '/ping', port: 8080 },
            scoringRoute: { path: '/score', port: 8080 },
          },
          tags,
        },
      });
      await client.onlineEndpoints.beginCreateOrUpdateAndWait(
        RESOURCE_GROUP,
        WORKSPACE,
        endpoint,
        { location: LOCATION, tags, properties: { authMode: 'Key' } },
        poll,
      );
      await client.onlineDeployments.beginCreateOrUpdateAndWait(
        RESOURCE_GROUP,
        WORKSPACE,
        endpoint,
        'blue',
        {
          location: LOCATION,
          tags,
          sku: { name: 'Default', capacity: 1 },
          properties: {
            endpointComputeType: 'Managed',
            model: `${ws}/models/${endpoint}/versions/1`,
            environmentId: `${ws}/environments/${endpoint}-env/versions/1`,
            instanceType: 'Standard_DS2_v2',
          },
        },
        poll,
      );
      await client.onlineEndpoints.beginCreateOrUpdateAndWait(
        RESOURCE_GROUP,
        WORKSPACE,
        endpoint,
        { location: LOCATION, tags, properties: { authMode: 'Key', traffic: { blue: 100 } } },
        poll,
      );
    }
  };
}

async function withCloud(mods, fn) {
  const azurite = await mods.testkit.startAzurite();
  const emulator = new mods.testkit.AzureEmulator({ storage: azurite });
  try {
    await emulator.start();
    emulator.faults.latencyMs = LATENCY_MS;
    return await fn({ emulator, azurite });
  } finally {
    await emulator.stop();
    await azurite.stop();
  }
}

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  const count = ctx.quick ? 5 : 20;
  const mods = await load();
  const dir = join(ctx.tmpDir, 'azure');
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
  const a = await withCloud(mods, async (cloud) => {
    const { emulator } = cloud;
    const mp = await runModelport(mods, cloud, files);
    const writes0 = emulator.writeCalls();
    const total0 = emulator.totalCalls();
    const started = performance.now();
    const outcomes = await Promise.all(files.map((file) => mp.apply(file)));
    const ms = performance.now() - started;
    const failed = outcomes.flat().filter((o) => !o.result.ok);
    if (failed.length > 0)
      throw new Error(
        `modelport: ${failed.length} apply(s) failed: ${failed[0].result.failed[0]?.error.message}`,
      );
    const writes = emulator.writeCalls() - writes0;
    const calls = emulator.totalCalls() - total0;
    const serving = emulator
      .list('onlineEndpoints')
      .filter((e) => Object.values(e.body.properties.traffic ?? {}).includes(100)).length;
    const writes1 = emulator.writeCalls();
    const reStarted = performance.now();
    await Promise.all(files.map((file) => mp.apply(file)));
    const reapplyMs = performance.now() - reStarted;
    const reapplyWrites = emulator.writeCalls() - writes1;
    return { ms, writes, calls, serving, reapplyMs, reapplyWrites, violations: emulator.violations.length };
  });
  ctx.log(
    `modelport: ${count} endpoints in ${(a.ms / 1000).toFixed(1)} s, ${a.writes} writes, ${a.calls} calls; re-apply ${a.reapplyWrites} writes`,
  );

  // B: the raw script, sequential.
  const b = await withCloud(mods, async (cloud) => {
    const script = rawScript(mods, cloud, endpoints);
    const writes0 = cloud.emulator.writeCalls();
    const total0 = cloud.emulator.totalCalls();
    const started = performance.now();
    await script();
    const ms = performance.now() - started;
    return { ms, writes: cloud.emulator.writeCalls() - writes0, calls: cloud.emulator.totalCalls() - total0 };
  });
  ctx.log(
    `raw script: ${count} endpoints in ${(b.ms / 1000).toFixed(1)} s, ${b.writes} writes, ${b.calls} calls`,
  );
  rmSync(dir, { recursive: true, force: true });

  const invalid =
    a.serving !== count
      ? `${a.serving}/${count} endpoints serving`
      : a.violations > 0
        ? `${a.violations} ARM schema violations`
        : undefined;
  return {
    metrics: [
      {
        id: 'azure.apply-wall',
        label: `apply ${count} Azure ML online endpoints: modelport vs a sequential raw-SDK script (${LATENCY_MS} ms/call)`,
        unit: 'ms',
        subject: a.ms,
        baseline: b.ms,
        ratio: a.ms / b.ms,
        target: { on: 'ratio', op: '<=', value: 0.3 },
        ...(invalid === undefined ? {} : { error: invalid }),
      },
      {
        id: 'azure.apply-writes',
        label: `write calls to apply ${count} endpoints: modelport vs the raw script`,
        unit: 'calls',
        subject: a.writes,
        baseline: b.writes,
        ratio: a.writes / b.writes,
        target: { on: 'ratio', op: '<=', value: 1 },
      },
      {
        id: 'azure.reapply-writes',
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
        calls: a.calls,
        reapplyMs: a.reapplyMs,
        reapplyWrites: a.reapplyWrites,
      },
      rawScript: { ms: b.ms, writes: b.writes, calls: b.calls },
    },
  };
}

// Standalone: node bench/azure.mjs [--quick]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tmp = join(tmpdir(), `modelport-bench-azure-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const result = await run({
    quick: process.argv.includes('--quick'),
    tmpDir: tmp,
    stateDir: tmp,
    cleanup: undefined,
    log: (m) => console.error(`[azure] ${m}`),
  });
  rmSync(tmp, { recursive: true, force: true });
  console.log(JSON.stringify(result, null, 2));
}
