import type { KeyObject } from 'node:crypto';

import { FileTree } from '../archive/file-tree.js';
import {
  BUNDLE_MANIFEST,
  BUNDLE_PUBLIC_KEY,
  BUNDLE_SCHEMA,
  BUNDLE_SIGNATURE,
  type BundleManifest,
  type ServeConfig,
} from '../app/bundle-format.js';
import type { ModelFiles } from '../model/model-files.js';
import type { PlatformInfo } from '../platform.js';
import { publicKeyPem, signBytes } from '../signing/keys.js';
import { edgePackage, nodeBinary } from '../sources.js';
import { buildAppCode } from './app-code.js';
import { addNativeOnnxruntime, addWasmOnnxruntime } from './onnxruntime-files.js';

export interface BundleSpec {
  name: string;
  version: string;
  platform: PlatformInfo;
  runtime: 'native' | 'wasm';
  model: ModelFiles;
  /** How `run` serves the model; `model` is filled in from the model files. */
  serve: Omit<ServeConfig, 'model'>;
  signingKey?: KeyObject;
}

export interface AssembledBundle {
  tree: FileTree;
  manifest: BundleManifest;
}

/** The bundle's models live here; the ONNX file keeps its name. */
export const MODEL_DIR = 'model';

const RUN_SCRIPT = `#!/bin/sh
# modelport edge bundle: starts the bundled Node.js on run.mjs, which verifies every file of the bundle
# against bundle.json (and its signature) before it loads anything. \`./run --help\` for the options.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd) || exit 1
exec "$here/bin/node" "$here/run.mjs" "$@"
`;

function readme(spec: BundleSpec): string {
  return `${spec.name} ${spec.version}: a modelport edge bundle for ${spec.platform.platform} (${spec.runtime} runtime)

Runs with no network and nothing installed: bin/node is Node.js, run.mjs and app/ the modelport runtime,
node_modules/ onnxruntime, model/ the model.

  ./run                     serve on 127.0.0.1:8080 (async queue on 8081); ./run --help for options
  ./run --pubkey trusted.pub  also require the bundle to be signed by that key
  ./run --verify-only       check every file against bundle.json and exit

bundle.json lists every file with its SHA-256; bundle.sig (when present) is an ed25519 signature of
bundle.json by the key in bundle.pub. \`run\` refuses to start when any file differs. The embedded key
proves the bundle is intact; to prove who built it, give the key you trust with --pubkey (or
MODELPORT_PUBKEY), or check it on another machine with \`modelport edge verify <bundle> --pubkey <key>\`.
`;
}

/**
 * Assembles a bundle's files: Node for the platform, the bundled runtime, onnxruntime (native or WASM),
 * the model, the `run` script, bundle.json (every file with its SHA-256) and, with a key, bundle.sig.
 */
export async function assembleBundle(spec: BundleSpec): Promise<AssembledBundle> {
  const tree = new FileTree();
  const node = nodeBinary(spec.platform);
  await tree.addFile('bin/node', node.path, 0o755);
  await tree.addFile('licenses/node.LICENSE', node.license);

  const code = await buildAppCode(spec.runtime);
  tree.addBytes('run', RUN_SCRIPT, 0o755);
  tree.addBytes('run.mjs', code.run);
  tree.addBytes('app/server.mjs', code.server);
  tree.addBytes('app/s3.mjs', code.s3);
  tree.addBytes('README.txt', readme(spec));
  const onnxruntime =
    spec.runtime === 'native'
      ? await addNativeOnnxruntime(tree, spec.platform)
      : await addWasmOnnxruntime(tree);

  for (const file of spec.model.files) await tree.addFile(`${MODEL_DIR}/${file.relative}`, file.absolute);
  if (spec.signingKey !== undefined) tree.addBytes(BUNDLE_PUBLIC_KEY, publicKeyPem(spec.signingKey));

  const manifest: BundleManifest = {
    schema: BUNDLE_SCHEMA,
    name: spec.name,
    version: spec.version,
    platform: spec.platform.platform,
    runtime: spec.runtime,
    versions: { node: node.version, onnxruntime, modelport: edgePackage().version },
    serve: { ...spec.serve, model: `${MODEL_DIR}/${spec.model.main}` },
    files: tree.files().map((f) => ({
      path: f.path,
      sha256: f.sha256,
      size: f.size,
      mode: f.mode.toString(8).padStart(4, '0'),
    })),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  tree.addBytes(BUNDLE_MANIFEST, manifestBytes);
  if (spec.signingKey !== undefined) {
    tree.addBytes(
      BUNDLE_SIGNATURE,
      `${JSON.stringify(signBytes(spec.signingKey, manifestBytes), null, 2)}\n`,
    );
  }
  return { tree, manifest };
}
