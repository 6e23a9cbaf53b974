// The KServe iris example through the built CLI against the fake Kubernetes API server, whose predictor pod
// is the real serving image started as KServe starts a custom container (storage initializer filling
// /mnt/models from the example's s3:// URI, then the kserve-container with the rendered args, probed): apply,
// invoke with the same predictions as the local provider (the iris model's, not the decoy baked into the
// image), then destroy with nothing left.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeCluster } from './kserve-helpers.js';
import { HAVE_CRD, IRIS_URI, KSERVE_EXAMPLES, kserveEnv, startCluster } from './kserve-helpers.js';
import type { Workspace } from './helpers.js';
import {
  createWorkspace,
  exampleManifest,
  invokeWithEnv,
  IRIS_DIR,
  IRIS_MODEL,
  localIris,
  localReference,
  runCliWithEnv,
} from './helpers.js';

const PAYLOAD = join(IRIS_DIR, 'payload.json');

let cluster: FakeCluster;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let manifest: string;
let localEndpoint: string;

beforeAll(async () => {
  ws = await createWorkspace('kserve-iris');
  cluster = await startCluster(ws.dir);
  // The user's model in the storage the cluster's storage initializer reads.
  await cluster.putObject(IRIS_URI, IRIS_MODEL);
  env = kserveEnv(cluster.kubeconfig, ws.stateDir);
  manifest = await exampleManifest(KSERVE_EXAMPLES, 'iris.yaml', join(ws.dir, 'iris-kserve.yaml'));
  ({ endpoint: localEndpoint } = await localIris(ws, `iris-local-${process.pid}`));
  if (!HAVE_CRD) {
    console.warn('kserve-iris: no InferenceService CRD (../shared/specs): writes are not schema-checked');
  }
});

afterAll(async () => {
  await ws?.cleanup();
  await cluster?.server.stop();
});

describe(
  'the kserve iris example on the fake cluster, against the local provider',
  { timeout: 180_000 },
  () => {
    let local: unknown;

    it('the local provider answers the payload (the reference)', async () => {
      local = await localReference(localEndpoint, ws.stateDir, PAYLOAD);
    });

    it('applies: the InferenceService is Ready once its pod (the serving image) passed its probe', async () => {
      const applied = await runCliWithEnv(['apply', manifest, '--yes'], env);
      expect(applied.code, applied.stderr + applied.stdout).toBe(0);
      expect(cluster.server.store.objects.has('models/iris')).toBe(true);
      expect(cluster.server.pods?.running().map((c) => c.name)).toEqual(['models/iris-1']);
      cluster.server.assertNoViolations();
    });

    it('invoke answers what the local provider answers, from the iris model', async () => {
      expect(await invokeWithEnv(env, manifest, PAYLOAD)).toEqual(local);
    });

    it('destroy removes the InferenceService and stops its pod', async () => {
      const destroyed = await runCliWithEnv(['destroy', manifest, '--yes'], env);
      expect(destroyed.code, destroyed.stderr).toBe(0);
      expect(cluster.server.store.objects.size).toBe(0);
      await cluster.server.pods?.idle();
      expect(cluster.server.pods?.running()).toEqual([]);
      const status = await runCliWithEnv(['--output', 'json', 'status', manifest], env);
      expect(JSON.parse(status.stdout)).toMatchObject({ statuses: [{ state: 'absent' }] });
    });
  },
);
