// Group "gcp": applying 20 Vertex AI endpoints through modelport against a hand-written raw-SDK script
// making the same calls one after another, both against the Vertex AI emulator (gRPC, plus its fake GCS)
// with 100 ms of latency per call (a cloud round trip, roughly). Figures: wall time A/B (target ≤ 0.3),
// write calls A vs B (A ≤ B), the write calls of an unchanged re-apply (0), and what `modelport plan`
// spends loading the Google Cloud SDK (reported by the CLI itself with -v). Standalone: `node bench/gcp.mjs [--quick]`.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

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
  const fromProvider = createRequire(join(PROVIDER_DIR, 'package.json'));
  const built = (path) => import(pathToFileURL(join(ROOT, path)).href);
  return {
    aiplatform: fromProvider('@google-cloud/aiplatform'),
    gax: fromProvider('google-gax'),
    grpc: fromProvider('@grpc/grpc-js'),
    auth: fromProvider('google-auth-library'),
    storage: fromProvider('@google-cloud/storage'),
    di: await built('packages/core/dist/di.js'),
    core: await built('packages/core/dist/index.js'),
    provider: await built('packages/provider-gcp/dist/index.js'),
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
  model: { format: onnx, uri: ${MODEL} }
  target: { provider: gcp, region: ${LOCATION} }
  extensions:
    gcp: { project: ${PROJECT}, bucket: ${BUCKET} }
`;
}

/** A: modelport, every manifest applied at once (each through the engine), SDK loaded before the clock starts. */
async function runModelport(mods, emulator, files) {
  const { core, provider, di } = mods;
  const options = { ...provider.DEFAULT_OPTIONS, pollIntervalMs: POLL_MS, waitTimeoutMs: 120_000 };
  const factory = new provider.DefaultGcpClientFactory({
    apiEndpoint: emulator.address,
    gcsEndpoint: emulator.gcsUrl,
    options,
  });
  const host = new di.ContainerModuleHost();
  host.container.bind(provider.GcpClientFactory).toConstantValue(factory);
  host.container.bind(provider.GcpProviderOptions).toConstantValue(options);
  const declaration = core.readDeclaration(PROVIDER_DIR, 'builtin');
  const mp = new core.Modelport({ registry: new core.LazyProviderRegistry([declaration], host) });
  await mp.validate(files[0]);
  await mp.plan(files[0]);
  return { mp, factory };
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

function resetCounts(emulator) {
  emulator.calls.clear();
  emulator.gcs.writes = 0;
  emulator.gcs.calls = 0;
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
  const count = ctx.quick ? 5 : 20;
  const mods = await load();
  const dir = join(ctx.tmpDir, 'gcp');
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

  // The SDK load `modelport plan` pays (a fresh CLI process, no added latency), and `validate` for contrast.
  const load0 = await withEmulator(mods, async (emulator) => {
    const plans = [];
    for (let i = 0; i < (ctx.quick ? 1 : 3); i++) plans.push(await cliPlan(emulator, files[0], ctx.stateDir));
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

  // A: modelport, all manifests applied concurrently; then the unchanged re-apply.
  const a = await withEmulator(mods, async (emulator) => {
    const { mp, factory } = await runModelport(mods, emulator, files);
    emulator.faults.latencyMs = LATENCY_MS;
    resetCounts(emulator);
    const started = performance.now();
    const outcomes = await Promise.all(files.map((file) => mp.apply(file)));
    const ms = performance.now() - started;
    const failed = outcomes.flat().filter((o) => !o.result.ok);
    if (failed.length > 0)
      throw new Error(
        `modelport: ${failed.length} apply(s) failed: ${failed[0].result.failed[0]?.error.message}`,
      );
    const writes = emulator.writeCalls();
    const total = emulator.totalCalls();
    const serving = [...emulator.endpoints.values()].filter((e) =>
      Object.values(e.trafficSplit ?? {}).includes(100),
    ).length;
    resetCounts(emulator);
    const reStarted = performance.now();
    await Promise.all(files.map((file) => mp.apply(file)));
    const reapplyMs = performance.now() - reStarted;
    const reapplyWrites = emulator.writeCalls();
    const violations = emulator.violations.length;
    await factory.close();
    return { ms, writes, total, serving, reapplyMs, reapplyWrites, violations };
  });
  ctx.log(
    `modelport: ${count} endpoints in ${(a.ms / 1000).toFixed(1)} s, ${a.writes} writes, ${a.total} calls; re-apply ${a.reapplyWrites} writes`,
  );

  // B: the raw script, sequential.
  const b = await withEmulator(mods, async (emulator) => {
    const clients = rawClients(mods, emulator);
    await clients.models.listModels({ parent: `projects/${PROJECT}/locations/${LOCATION}` });
    emulator.faults.latencyMs = LATENCY_MS;
    resetCounts(emulator);
    const started = performance.now();
    await rawScript(clients, endpoints);
    const ms = performance.now() - started;
    const result = { ms, writes: emulator.writeCalls(), total: emulator.totalCalls() };
    await Promise.all([clients.models.close(), clients.endpoints.close()]);
    return result;
  });
  ctx.log(
    `raw script: ${count} endpoints in ${(b.ms / 1000).toFixed(1)} s, ${b.writes} writes, ${b.total} calls`,
  );
  rmSync(dir, { recursive: true, force: true });

  const invalid =
    a.serving !== count
      ? `${a.serving}/${count} endpoints serving`
      : a.violations > 0
        ? `${a.violations} proto violations`
        : undefined;
  return {
    metrics: [
      {
        id: 'gcp.apply-wall',
        label: `apply ${count} Vertex AI endpoints: modelport vs a sequential raw-SDK script (${LATENCY_MS} ms/call)`,
        unit: 'ms',
        subject: a.ms,
        baseline: b.ms,
        ratio: a.ms / b.ms,
        target: { on: 'ratio', op: '<=', value: 0.3 },
        ...(invalid === undefined ? {} : { error: invalid }),
      },
      {
        id: 'gcp.apply-writes',
        label: `write calls (Vertex AI and GCS) to apply ${count} endpoints: modelport vs the raw script`,
        unit: 'calls',
        subject: a.writes,
        baseline: b.writes,
        ratio: a.writes / b.writes,
        target: { on: 'ratio', op: '<=', value: 1 },
      },
      {
        id: 'gcp.reapply-writes',
        label: `write calls of an unchanged re-apply of ${count} endpoints`,
        unit: 'calls',
        subject: a.reapplyWrites,
        target: { on: 'subject', op: '==', value: 0 },
        note: `re-apply took ${Math.round(a.reapplyMs)} ms (reads only)`,
      },
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
    details: {
      endpoints: count,
      latencyMsPerCall: LATENCY_MS,
      pollMs: POLL_MS,
      modelport: {
        ms: a.ms,
        writes: a.writes,
        calls: a.total,
        reapplyMs: a.reapplyMs,
        reapplyWrites: a.reapplyWrites,
      },
      rawScript: { ms: b.ms, writes: b.writes, calls: b.total },
      plan: load0,
    },
  };
}

// Standalone: node bench/gcp.mjs [--quick]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tmp = join(tmpdir(), `modelport-bench-gcp-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const result = await run({
    quick: process.argv.includes('--quick'),
    tmpDir: tmp,
    stateDir: tmp,
    cleanup: undefined,
    log: (m) => console.error(`[gcp] ${m}`),
  });
  rmSync(tmp, { recursive: true, force: true });
  console.log(JSON.stringify(result, null, 2));
}
