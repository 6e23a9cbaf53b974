// Group "azure": applying 20 Azure ML online endpoints through modelport against a hand-written raw-SDK
// script making the same calls one after another (upload, model version, environment, endpoint, deployment,
// traffic, each long-running operation awaited), both against the Azure emulator (HTTPS, ARM schema checks,
// azurite for blobs) with 100 ms of latency per ARM call. Figures: wall time A/B (target ≤ 0.3), write calls
// A vs B (A ≤ B), and the write calls of an unchanged re-apply (0). Standalone: `node bench/azure.mjs [--quick]`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { applyFleet, importFrom, loadBuilt, runStandalone, warmModelport } from './fleet.mjs';
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
  const built = await loadBuilt(PROVIDER_DIR);
  return {
    ...built,
    ml: await importFrom(built.fromProvider, '@azure/arm-machinelearning'),
    blob: await importFrom(built.fromProvider, '@azure/storage-blob'),
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
  const { provider } = mods;
  const factory = new provider.DefaultAzureClientFactory({
    armEndpoint: cloud.emulator.url,
    credential,
    tlsCa: cloud.emulator.ca,
    blobEndpoint: cloud.azurite.blobEndpoint,
  });
  const options = { ...provider.DEFAULT_OPTIONS, pollIntervalMs: POLL_MS, waitTimeoutMs: 120_000 };
  const bindings = [
    [provider.AzureClientFactory, factory],
    [provider.AzureProviderOptions, options],
  ];
  return { mp: await warmModelport(mods, PROVIDER_DIR, bindings, files[0]) };
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
  const mods = await load();
  const { metrics, details } = await applyFleet(ctx, {
    cloud: 'azure',
    what: 'Azure ML online endpoints',
    latencyMs: LATENCY_MS,
    pollMs: POLL_MS,
    manifestText,
    withCloud: (fn) => withCloud(mods, fn),
    emulator: (cloud) => cloud.emulator,
    other: 'calls',
    modelport: (cloud, files) => runModelport(mods, cloud, files),
    rawScript: async (cloud, endpoints) => ({ run: rawScript(mods, cloud, endpoints) }),
    serving: (cloud) =>
      cloud.emulator
        .list('onlineEndpoints')
        .filter((e) => Object.values(e.body.properties.traffic ?? {}).includes(100)).length,
    servingWord: 'serving',
    violationsWord: 'ARM schema violations',
  });
  return { metrics, details };
}

// Standalone: node bench/azure.mjs [--quick]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runStandalone('azure', run);
