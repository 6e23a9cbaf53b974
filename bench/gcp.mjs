// Group "gcp": applying 20 Vertex AI endpoints through modelport against a hand-written raw-SDK script
// making the same calls one after another, both against the Vertex AI emulator (gRPC, plus its fake GCS)
// with 100 ms of latency per call (a cloud round trip, roughly). Figures: wall time A/B (target ≤ 0.3),
// write calls A vs B (A ≤ B), the write calls of an unchanged re-apply (0), and what `modelport plan`
// spends loading the Google Cloud SDK (reported by the CLI itself with -v). Standalone: `node bench/gcp.mjs [--quick]`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { applyFleet, loadBuilt, runStandalone, warmModelport } from './fleet.mjs';
import { ROOT } from './lib.mjs';

export const name = 'gcp';
export const title =
  'GCP provider: 20 Vertex AI endpoints vs a sequential raw-SDK script (emulator, 100 ms per call)';

const PROVIDER_DIR = join(ROOT, 'packages/provider-gcp');
const CLI = join(ROOT, 'packages/cli/dist/bin/modelport.js');
const MODEL = join(ROOT, 'examples/iris/model.onnx');
const PROJECT = 'modelport-bench';
const BUCKET = 'modelport-bench-artifacts';
const LOCATION = 'us-central1';
const IMAGE = `${LOCATION}-docker.pkg.dev/${PROJECT}/modelport/modelport-serving:0.1.0`;
const LATENCY_MS = 100;
const POLL_MS = 20;

process.env['METADATA_SERVER_DETECTION'] = 'none';

/** The SDK and the built packages, resolved where the provider installs them. */
async function load() {
  const built = await loadBuilt(PROVIDER_DIR);
  const { fromProvider } = built;
  return {
    ...built,
    aiplatform: fromProvider('@google-cloud/aiplatform'),
    gax: fromProvider('google-gax'),
    grpc: fromProvider('@grpc/grpc-js'),
    auth: fromProvider('google-auth-library'),
    storage: fromProvider('@google-cloud/storage'),
  };
}

function manifestText(endpoint) {
  return `apiVersion: modelport.dev/v1alpha1
kind: Endpoint
metadata:
  name: ${endpoint}
spec:
  mode: realtime
  model: { format: onnx, uri: ${MODEL} }
  target: { provider: gcp, region: ${LOCATION} }
  extensions:
    gcp: { project: ${PROJECT}, bucket: ${BUCKET} }
`;
}

/** A: modelport, every manifest applied at once (each through the engine), SDK loaded before the clock starts. */
async function runModelport(mods, emulator, files) {
  const { provider } = mods;
  const options = { ...provider.DEFAULT_OPTIONS, pollIntervalMs: POLL_MS, waitTimeoutMs: 120_000 };
  const factory = new provider.DefaultGcpClientFactory({
    apiEndpoint: emulator.address,
    gcsEndpoint: emulator.gcsUrl,
    options,
  });
  const bindings = [
    [provider.GcpClientFactory, factory],
    [provider.GcpProviderOptions, options],
  ];
  const mp = await warmModelport(mods, PROVIDER_DIR, bindings, files[0]);
  return { mp, close: () => factory.close() };
}

/** B: the minimal raw-SDK script, one endpoint after the other: upload, UploadModel, CreateEndpoint, DeployModel, each awaited. */
function rawClients(mods, emulator) {
  const { aiplatform, gax, grpc, auth, storage } = mods;
  const token = new auth.OAuth2Client();
  token.setCredentials({ access_token: 'bench-token' });
  const [host, port] = emulator.address.split(':');
  const options = {
    apiEndpoint: host,
    port: Number(port),
    sslCreds: grpc.credentials.createInsecure(),
    authClient: token,
    universeDomain: 'googleapis.com',
  };
  return {
    models: new aiplatform.v1.ModelServiceClient(options),
    endpoints: new aiplatform.v1.EndpointServiceClient(options),
    gcs: new storage.Storage({
      apiEndpoint: emulator.gcsUrl,
      projectId: PROJECT,
      useAuthWithCustomEndpoint: false,
    }),
    lro: { longrunning: gax.createBackoffSettings(POLL_MS, 1, POLL_MS, null, null, null, 120_000) },
  };
}

async function rawScript(clients, endpoints) {
  const { models, endpoints: eps, gcs, lro } = clients;
  const parent = `projects/${PROJECT}/locations/${LOCATION}`;
  const labels = (endpoint) => ({
    'modelport_2edev_2fmanaged-by': 'raw-script',
    modelport_2edev_2fname: endpoint,
  });
  for (const endpoint of endpoints) {
    await gcs.bucket(BUCKET).upload(MODEL, { destination: `raw/${endpoint}/model.onnx`, resumable: false });
    const [upload] = await models.uploadModel(
      {
        parent,
        modelId: `${endpoint}-model`,
        model: {
          displayName: `${endpoint}-model`,
          artifactUri: `gs://${BUCKET}/raw/${endpoint}`,
          containerSpec: {
            imageUri: IMAGE,
            ports: [{ containerPort: 8080 }],
            predictRoute: '/predict',
            healthRoute: '/health',
          },
          labels: labels(endpoint),
        },
      },
      lro,
    );
    const [model] = await upload.promise();
    const [create] = await eps.createEndpoint(
      { parent, endpointId: endpoint, endpoint: { displayName: endpoint, labels: labels(endpoint) } },
      lro,
    );
    const [created] = await create.promise();
    const [deploy] = await eps.deployModel(
      {
        endpoint: created.name,
        deployedModel: {
          model: model.model,
          displayName: `${endpoint}-deployed`,
          dedicatedResources: {
            machineSpec: { machineType: 'n1-standard-2' },
            minReplicaCount: 1,
            maxReplicaCount: 1,
          },
        },
        trafficSplit: { 0: 100 },
      },
      lro,
    );
    await deploy.promise();
  }
}

async function withEmulator(mods, fn) {
  const emulator = new mods.testkit.VertexEmulator({ buckets: [BUCKET] });
  await emulator.start();
  try {
    return await fn(emulator);
  } finally {
    await emulator.stop();
  }
}

/** `modelport -v plan` as a user runs it: its wall time, and the SDK load it reports on stderr. */
function cliPlan(emulator, file, stateDir, args = ['-v', 'plan']) {
  const env = {
    ...process.env,
    MODELPORT_STATE_DIR: stateDir,
    MODELPORT_GCP_API_ENDPOINT: emulator.address,
    MODELPORT_GCS_ENDPOINT: emulator.gcsUrl,
    METADATA_SERVER_DETECTION: 'none',
    NO_COLOR: '1',
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args, file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.stdout.resume();
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`modelport ${args.join(' ')} exited ${code}: ${stderr}`));
      const m = /loaded the Google Cloud SDK in (\d+) ms and created its clients in (\d+) ms/.exec(stderr);
      resolve({ ms, importMs: m ? Number(m[1]) : NaN, clientsMs: m ? Number(m[2]) : NaN });
    });
  });
}

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  const mods = await load();
  let load0;
  const { metrics, details } = await applyFleet(ctx, {
    cloud: 'gcp',
    what: 'Vertex AI endpoints',
    writesWhat: 'write calls (Vertex AI and GCS)',
    latencyMs: LATENCY_MS,
    pollMs: POLL_MS,
    manifestText,
    withCloud: (fn) => withEmulator(mods, fn),
    emulator: (emulator) => emulator,
    other: 'calls',
    modelport: (emulator, files) => runModelport(mods, emulator, files),
    rawScript: async (emulator, endpoints) => {
      const clients = rawClients(mods, emulator);
      await clients.models.listModels({ parent: `projects/${PROJECT}/locations/${LOCATION}` });
      return {
        run: () => rawScript(clients, endpoints),
        close: () => Promise.all([clients.models.close(), clients.endpoints.close()]),
      };
    },
    // The latency starts after the warm-up calls.
    beforeClock: (emulator) => {
      emulator.faults.latencyMs = LATENCY_MS;
    },
    serving: (emulator) =>
      [...emulator.endpoints.values()].filter((e) => Object.values(e.trafficSplit ?? {}).includes(100))
        .length,
    servingWord: 'serving',
    violationsWord: 'proto violations',
    prelude: async (files) => {
      // The SDK load `modelport plan` pays (a fresh CLI process, no added latency), and `validate` for contrast.
      load0 = await withEmulator(mods, async (emulator) => {
        const plans = [];
        for (let i = 0; i < (ctx.quick ? 1 : 3); i++)
          plans.push(await cliPlan(emulator, files[0], ctx.stateDir));
        const validate = await cliPlan(emulator, files[0], ctx.stateDir, ['validate']);
        const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
        return {
          planMs: median(plans.map((p) => p.ms)),
          importMs: median(plans.map((p) => p.importMs)),
          clientsMs: median(plans.map((p) => p.clientsMs)),
          validateMs: validate.ms,
        };
      });
      ctx.log(
        `modelport plan: ${Math.round(load0.planMs)} ms, of which SDK import ${load0.importMs} ms + clients ${load0.clientsMs} ms`,
      );
    },
  });
  return {
    metrics: [
      ...metrics,
      {
        id: 'gcp.plan-sdk-load',
        label:
          '`modelport plan` of a GCP manifest: time spent loading the Google Cloud SDK (import + first clients)',
        unit: 'ms',
        subject: load0.importMs + load0.clientsMs,
        baseline: load0.planMs,
        ratio: (load0.importMs + load0.clientsMs) / load0.planMs,
        note: `import ${load0.importMs} ms + clients ${load0.clientsMs} ms of a ${Math.round(load0.planMs)} ms plan; \`validate\` (no SDK) took ${Math.round(load0.validateMs)} ms`,
      },
    ],
    details: { ...details, plan: load0 },
  };
}

// Standalone: node bench/gcp.mjs [--quick]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runStandalone('gcp', run);
