// Helpers of the KServe end-to-end tests: the fake Kubernetes API server in the test process running the
// predictor pods with the real serving image (built by the vitest global setup, a decoy model baked in) and
// a storage folder the storage initializer reads, and the built CLI pointed at it through KUBECONFIG.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FakeKubeOptions } from '@modelport/testkit';
import {
  FakeKubeApiServer,
  folderStorage,
  ImageRegistry,
  testServingImage,
  writeKubeconfig,
} from '@modelport/testkit';
import { crdErrors } from '../../packages/provider-kserve/src/testing/crd-schema.js';
import { HAVE_CRD } from '../../packages/provider-kserve/src/testing/manifests.js';
import { cliEnv, ROOT } from './helpers.js';

export const KSERVE_EXAMPLES = join(ROOT, 'examples/kserve');
/** The image and model URI of examples/kserve/iris.yaml. */
export const IRIS_IMAGE = 'ghcr.io/modelport/modelport-serving:0.1.0';
export const IRIS_URI = 's3://modelport-models/iris/model.onnx';
/** Whether the InferenceService CRD is there (the shared specs folder; absent in a user's clone). */
export { HAVE_CRD };

export interface FakeCluster {
  server: FakeKubeApiServer;
  kubeconfig: string;
  /** Copies a local file to an object of the cluster's model storage. */
  putObject(uri: string, file: string): Promise<void>;
}

/**
 * The fake API server with the serving image in its registry under the example's reference and a model
 * storage in `dir`; every write is checked against the CRD's schema when the CRD is there.
 */
export async function startCluster(dir: string, options: FakeKubeOptions = {}): Promise<FakeCluster> {
  const storage = folderStorage(join(dir, 'storage'));
  const images = new ImageRegistry().push(IRIS_IMAGE, await testServingImage());
  const server = new FakeKubeApiServer({
    ...(HAVE_CRD ? { validate: crdErrors } : {}),
    pods: { images, storage, workDir: join(dir, 'pods'), progressDeadlineMs: 60_000 },
    ...options,
  });
  const { url } = await server.start();
  return {
    server,
    kubeconfig: await writeKubeconfig(join(dir, 'kubeconfig'), url, server.token),
    async putObject(uri, file) {
      const target = storage.pathOf(uri);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(file, target);
    },
  };
}

/** The CLI's environment: its state folder, the fake cluster's kubeconfig, fast polls. */
export function kserveEnv(kubeconfig: string, stateDir: string): NodeJS.ProcessEnv {
  return {
    ...cliEnv(stateDir),
    KUBECONFIG: kubeconfig,
    MODELPORT_KSERVE_POLL_MS: '50',
    MODELPORT_KSERVE_TIMEOUT_MS: '90000',
  };
}
