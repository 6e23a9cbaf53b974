import type { DeflateCache } from '../archive/deflate-cache.js';
import { FileTree } from '../archive/file-tree.js';
import { BUNDLE_MANIFEST, BUNDLE_PUBLIC_KEY, BUNDLE_SIGNATURE } from '../app/bundle-format.js';
import type { AssembledBundle } from '../bundle/assemble.js';
import type { PlatformInfo } from '../platform.js';
import { debianBaseTree, debianPackages, debsDirOf, IMAGE_STATE_DIR, IMAGE_UID } from './debian-base.js';
import { writeImageLayout, type LayerSpec, type WrittenImage } from './image-layout.js';
import type { ImageConfig } from './media-types.js';

/** Where the bundle sits in the image: the same files as the .tar.gz, so `run` verifies them the same way. */
export const IMAGE_BUNDLE_DIR = 'opt/modelport';
export const IMAGE_PORT = 8080;

/** Which layer a bundle file goes to: rarely changing first, so registries and nodes reuse them. */
function layerOf(path: string): 'node' | 'runtime' | 'model' {
  if (path === 'bin/node' || path.startsWith('licenses/')) return 'node';
  if (
    path.startsWith('model/') ||
    path === BUNDLE_MANIFEST ||
    path === BUNDLE_SIGNATURE ||
    path === BUNDLE_PUBLIC_KEY
  )
    return 'model';
  return 'runtime';
}

function splitBundle(bundle: AssembledBundle): Record<'node' | 'runtime' | 'model', FileTree> {
  const trees = { node: new FileTree(), runtime: new FileTree(), model: new FileTree() };
  for (const entry of bundle.tree.list()) {
    // Folders are implied by the files, in each layer that needs them.
    if (entry.type !== 'directory') trees[layerOf(entry.path)].addEntry(entry, IMAGE_BUNDLE_DIR);
  }
  return trees;
}

/**
 * The labels and settings that make one image meet every cloud's custom-container contract:
 * SageMaker (port 8080, /ping, /invocations, `serve` argument, SAGEMAKER_BIND_TO_PORT), Vertex AI
 * (AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE), Azure ML (/score, liveness and readiness routes)
 * and KServe (v1 :predict, v2 Open Inference Protocol): the runtime serves all of them on one port.
 */
export function servingImageConfig(
  bundle: AssembledBundle,
  platform: PlatformInfo,
): Omit<ImageConfig, 'rootfs' | 'history'> {
  const { manifest } = bundle;
  const entry = [`/${IMAGE_BUNDLE_DIR}/bin/node`, `/${IMAGE_BUNDLE_DIR}/run.mjs`];
  return {
    architecture: platform.ociArch,
    os: 'linux',
    config: {
      User: `${IMAGE_UID}:${IMAGE_UID}`,
      Env: [
        `PATH=/${IMAGE_BUNDLE_DIR}/bin:/usr/bin:/bin`,
        // Containers are reached from outside: listen on every address (the bundle defaults to 127.0.0.1).
        'MODELPORT_HOST=0.0.0.0',
        // Clouds queue requests themselves (SageMaker async, batch jobs): no second port by default.
        'MODELPORT_QUEUE_PORT=off',
        `MODELPORT_STATE_DIR=/${IMAGE_STATE_DIR}`,
        // No telemetry uploads from onnxruntime (run.mjs sets it too; here it shows in `docker inspect`).
        'ORT_DISABLE_TELEMETRY=1',
      ],
      Entrypoint: entry,
      WorkingDir: `/${IMAGE_BUNDLE_DIR}`,
      ExposedPorts: { [`${IMAGE_PORT}/tcp`]: {} },
      // Per-container state (spool, downloaded models): never shared between containers of one image.
      Volumes: { [`/${IMAGE_STATE_DIR}`]: {} },
      StopSignal: 'SIGTERM',
      Labels: {
        'org.opencontainers.image.title': manifest.name,
        'org.opencontainers.image.version': manifest.version,
        'org.opencontainers.image.description': `${manifest.name}: ONNX model served by the modelport runtime (SageMaker, Vertex AI, Azure ML, KServe v1/v2)`,
        'dev.modelport.bundle.platform': manifest.platform,
        'dev.modelport.bundle.runtime': manifest.runtime,
        'dev.modelport.runtime.node': manifest.versions.node,
        'dev.modelport.runtime.onnxruntime': manifest.versions.onnxruntime,
        // SageMaker reads these labels from the image: it may pass SAGEMAKER_BIND_TO_PORT (honoured).
        'com.amazonaws.sagemaker.capabilities.accept-bind-to-port': 'true',
        'com.amazonaws.sagemaker.capabilities.multi-models': 'false',
      },
    },
  };
}

export interface ServingImageOptions {
  bundle: AssembledBundle;
  platform: PlatformInfo;
  dir: string;
  tag: string;
  cache: DeflateCache;
  /** Holds the downloaded Debian packages. */
  cacheDir: string;
  onProgress?: (message: string) => void;
}

/**
 * The portable serving image of a bundle: a Debian base layer of the target architecture (shared
 * libraries only), then Node, the runtime, and the model with bundle.json, each its own layer.
 */
export async function buildServingImage(options: ServingImageOptions): Promise<WrittenImage> {
  const { platform } = options;
  const packages = await debianPackages(options.cacheDir, platform, options.onProgress);
  const base = await debianBaseTree(packages, debsDirOf(options.cacheDir, platform));
  const trees = splitBundle(options.bundle);
  const layers: LayerSpec[] = [
    {
      comment: `Debian ${packages.map((p) => `${p.name} ${p.version}`).join(', ')} (${platform.debianArch})`,
      tree: base,
    },
    { comment: `Node.js ${options.bundle.manifest.versions.node}`, tree: trees.node },
    {
      comment: `modelport runtime, onnxruntime ${options.bundle.manifest.versions.onnxruntime} (${options.bundle.manifest.runtime})`,
      tree: trees.runtime,
    },
    { comment: `model ${options.bundle.manifest.serve.model} and bundle.json`, tree: trees.model },
  ];
  return writeImageLayout({
    dir: options.dir,
    tag: options.tag,
    layers,
    config: servingImageConfig(options.bundle, platform),
    annotations: {
      'org.opencontainers.image.title': options.bundle.manifest.name,
      'org.opencontainers.image.version': options.bundle.manifest.version,
    },
    cache: options.cache,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
}
