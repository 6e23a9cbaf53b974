// Test support (not part of the package build): the fake Kubernetes API server on 127.0.0.1, a kubeconfig
// for it, and a Modelport whose KServe provider is loaded the way the CLI loads it (package declaration →
// module), with the real @kubernetes/client-node talking HTTP to the fake server and fast polls.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Modelport } from '@modelport/core';
import type {
  ContainerImage,
  FakeKubeOptions,
  ModelportExtra,
  PredictorPodOptions,
} from '@modelport/testkit';
import {
  FakeKubeApiServer,
  folderStorage,
  ImageRegistry,
  providerModelport,
  testServingImage,
  writeKubeconfig,
} from '@modelport/testkit';
import type { KserveProviderOptions } from '../options.js';
import { KserveProviderOptions as OptionsToken } from '../tokens.js';
import { crdErrors } from './crd-schema.js';
import { HAVE_CRD, PACKAGE_DIR, ROOT, irisText } from './manifests.js';

/** The image references the kserve examples and tests deploy. */
export const IRIS_IMAGES = [
  'ghcr.io/modelport/modelport-serving:0.1.0',
  'ghcr.io/modelport/modelport-serving:0.2.0',
] as const;
/** The model URI of examples/kserve/iris.yaml. */
export const IRIS_URI = 's3://modelport-models/iris/model.onnx';
export const IRIS_MODEL = join(ROOT, 'examples/iris/model.onnx');

export interface HarnessOptions extends Omit<FakeKubeOptions, 'pods'> {
  /** With `serving`: the pods' timing (progress deadline, probe interval). */
  pods?: Partial<PredictorPodOptions>;
  provider?: Partial<KserveProviderOptions>;
  /**
   * Run predictor pods: the real serving image (built by the root vitest setup, decoy model inside) pushed
   * under IRIS_IMAGES, or the registry this returns from it (a broken variant); the iris model in the
   * cluster's storage at IRIS_URI.
   */
  serving?: true | ((image: ContainerImage) => ImageRegistry);
}

export interface Harness {
  server: FakeKubeApiServer;
  dir: string;
  kubeconfig: string;
  options: KserveProviderOptions;
  modelport(extra?: ModelportExtra): Modelport;
  /** The cluster's model storage (when `serving`): a URI's host path, to copy models into. */
  storagePath(uri: string): string;
  /** Copies a file to the object (or prefix member) `uri` of the cluster's storage. */
  putObject(uri: string, file: string): Promise<void>;
  /** Writes the kserve iris example with edits (each must match) into the temp folder. */
  manifest(file: string, edits?: readonly [string | RegExp, string][]): Promise<string>;
  stop(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'modelport-kserve-test-'));
  const storage = folderStorage(join(dir, 'storage'));
  const putObject = async (uri: string, file: string): Promise<void> => {
    const target = storage.pathOf(uri);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(file, target);
  };
  let pods: PredictorPodOptions | undefined;
  if (options.serving !== undefined) {
    const image = await testServingImage();
    const images =
      options.serving === true
        ? IRIS_IMAGES.reduce((r, ref) => r.push(ref, image), new ImageRegistry())
        : options.serving(image);
    await putObject(IRIS_URI, IRIS_MODEL);
    pods = { images, storage, workDir: join(dir, 'pods'), ...options.pods };
  }
  // Every InferenceService written is checked against the CRD's schema, as a real API server does (when the
  // CRD is there: without it the tests still run, unchecked, and say so).
  if (!HAVE_CRD) warnNoCrd();
  const { pods: _timing, ...serverOptions } = options;
  const server = new FakeKubeApiServer({
    ...(HAVE_CRD ? { validate: crdErrors } : {}),
    ...serverOptions,
    ...(pods === undefined ? {} : { pods }),
  });
  const { url } = await server.start();
  const kubeconfig = await writeKubeconfig(join(dir, 'kubeconfig'), url, server.token);
  const providerOptions: KserveProviderOptions = {
    kubeconfigPath: kubeconfig,
    pollIntervalMs: 5,
    waitTimeoutMs: 10_000,
    ...options.provider,
  };
  return {
    server,
    dir,
    kubeconfig,
    options: providerOptions,
    modelport: (extra = {}) => modelportWith(providerOptions, extra),
    storagePath: (uri) => storage.pathOf(uri),
    putObject,
    async manifest(file, edits = []) {
      const target = join(dir, file);
      await writeFile(target, irisText(edits));
      return target;
    },
    /** Stops everything, then fails if any write of the whole file broke the CRD schema. */
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
      server.assertNoViolations();
    },
  };
}

let warned = false;
function warnNoCrd(): void {
  if (warned) return;
  warned = true;
  console.warn(
    'provider-kserve tests: no InferenceService CRD at ../shared/specs/kserve: writes are not checked against its schema',
  );
}

/** A Modelport whose KServe provider (loaded from the package declaration, as the CLI does) uses `options`. */
export function modelportWith(options: KserveProviderOptions, extra: ModelportExtra = {}): Modelport {
  return providerModelport(PACKAGE_DIR, [[OptionsToken, options]], extra);
}
