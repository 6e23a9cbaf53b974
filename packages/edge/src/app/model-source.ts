// Which model the image serves (or a batch job runs): the one the platform gives, never silently the
// one baked into the bundle. Every location arrives through arguments or the environment: nothing here
// knows /opt/ml/model or /mnt/models.
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

import type { BundleManifest } from './bundle-format.js';
import type { RunOptions } from './run-options.js';
import type * as S3Module from './s3-storage.js';
import { modelFromStorage } from './storage-model.js';

export type ModelSourceName =
  '--model' | 'MODELPORT_MODEL' | 'MODELPORT_MODEL_URI' | 'AZUREML_MODEL_DIR' | 'AIP_STORAGE_URI' | 'bundled';

export interface ModelChoice {
  source: ModelSourceName;
  /** The local .onnx file to load. */
  path: string;
  /** The remote location it was downloaded from. */
  from?: string;
  /** The signature to serve it with: signature.json's, or the bundle's for the bundled model. */
  signature?: unknown;
  /** The signature.json file read, if any. */
  signaturePath?: string;
  /** The temporary folder the model was downloaded to: remove it when done. */
  downloadDir?: string;
}

export interface ModelSourceContext {
  bundleDir: string;
  manifest: BundleManifest;
  env: NodeJS.ProcessEnv;
  /** Where downloads go (a fresh folder is made in it); default the OS temp folder. */
  tmpDir?: string;
  /** Loads the S3 support (app/s3.mjs in a bundle). */
  loadS3: () => Promise<typeof S3Module>;
}

/** The S3 support of a bundle: its own chunk beside app/server.mjs, or the compiled module in dist/app. */
export function loadS3Module(): Promise<typeof S3Module> {
  const here = import.meta.url;
  const file = here.endsWith('.mjs') ? './s3.mjs' : './s3-storage.js';
  return import(new URL(file, here).href) as Promise<typeof S3Module>;
}

const SIGNATURE_FILE = 'signature.json';

/**
 * The one .onnx file of a folder, at its top or up to `depth` folders down (the first level that has any
 * wins); a file is itself. No .onnx file, or several at that level, is an error that names them.
 */
export async function onnxFileIn(path: string, what: string, depth = 1): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  let level = [path];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const found: string[] = [];
    const next: string[] = [];
    for (const dir of level) {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isFile() && entry.name.endsWith('.onnx')) found.push(join(dir, entry.name));
        else if (entry.isDirectory() && !entry.name.startsWith('.')) next.push(join(dir, entry.name));
      }
    }
    if (found.length === 1) return found[0] as string;
    if (found.length > 1) {
      throw new Error(
        `${what} ${path}: expected one .onnx file, found ${found.length}: ${found.sort().join(', ')}`,
      );
    }
    level = next.sort();
  }
  const top = (await readdir(path)).sort();
  const shown = top.length > 10 ? [...top.slice(0, 10), `… ${top.length - 10} more`] : top;
  throw new Error(
    `${what} ${path}: no .onnx file in the folder${depth > 0 ? ` or up to ${depth} folder${depth > 1 ? 's' : ''} down` : ''} (it holds: ${shown.join(', ') || 'nothing'})`,
  );
}

async function readSignature(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The .onnx file of a local file or folder, with the signature.json beside it (or at the folder's top). */
async function localModel(
  given: string,
  source: ModelSourceName,
  depth: number,
): Promise<Omit<ModelChoice, 'source'>> {
  const root = resolve(given);
  const path = await onnxFileIn(root, source, depth);
  const candidates = [join(dirname(path), SIGNATURE_FILE)];
  if ((await stat(root)).isDirectory()) candidates.push(join(root, SIGNATURE_FILE));
  for (const candidate of candidates) {
    if (await isFile(candidate)) {
      return { path, signature: await readSignature(candidate), signaturePath: candidate };
    }
  }
  return { path };
}

/**
 * The model to load, in this order: --model / MODELPORT_MODEL (a local file or folder; an s3:// URI,
 * downloaded; a relative name not found here, inside AZUREML_MODEL_DIR or the AIP_STORAGE_URI folder),
 * AZUREML_MODEL_DIR, AIP_STORAGE_URI, else the bundled model.
 */
export async function resolveModel(options: RunOptions, context: ModelSourceContext): Promise<ModelChoice> {
  const made: string[] = [];
  const newDir = async () => {
    const dir = await mkdtemp(join(context.tmpDir ?? tmpdir(), 'modelport-model-'));
    made.push(dir);
    return dir;
  };
  const removeMade = () =>
    Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))).then(() => undefined);
  try {
    const choice = await choose(options, context, newDir);
    // A name that was looked for in AIP_STORAGE_URI may have left an empty folder: keep only the used one.
    const used = made.find((dir) => choice.path.startsWith(dir + sep));
    await Promise.all(made.filter((d) => d !== used).map((dir) => rm(dir, { recursive: true, force: true })));
    return used === undefined ? choice : { ...choice, downloadDir: used };
  } catch (error) {
    await removeMade();
    throw error;
  }
}

async function choose(
  options: RunOptions,
  context: ModelSourceContext,
  newDir: () => Promise<string>,
): Promise<ModelChoice> {
  const { env } = context;
  if (options.model !== undefined) {
    const source: ModelSourceName = options.modelFrom ?? 'MODELPORT_MODEL';
    const given = options.model;
    if (given.startsWith('s3://')) {
      const s3 = await context.loadS3();
      const local = await s3.downloadModel(given, await newDir(), env);
      return { source, from: given, ...(await localModel(local, source, 1)) };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
      throw new Error(`${source} ${given}: only local paths and s3:// URIs are supported`);
    }
    if (await exists(given)) return { source, ...(await localModel(given, source, 1)) };
    // A relative name that is not here may name a file inside the platform's model folder: Azure ML's
    // mount (AZUREML_MODEL_DIR), or on Vertex AI the AIP_STORAGE_URI folder (below).
    if (options.azureModelDir !== undefined && !isAbsolute(given)) {
      const inside = join(options.azureModelDir, given);
      if (await exists(inside)) return { source, ...(await localModel(inside, source, 1)) };
    }
    // On Vertex AI, MODELPORT_MODEL may name the file inside the AIP_STORAGE_URI folder.
    const fetched = await modelFromStorage(given, { dir: await newDirIfStorage(env, newDir), env });
    if (fetched !== undefined) return storageChoice(fetched, env);
    throw new Error(`${source} ${given}: no such file or folder`);
  }
  if (options.azureModelDir !== undefined) {
    // Azure ML mounts the registered model and "the environment variable AZUREML_MODEL_DIR points to" it
    // (https://learn.microsoft.com/azure/machine-learning/concept-online-deployment-model-specification;
    // by default /var/azureml-app/azureml-models/<name>/<version>, or under model_mount_path:
    // https://learn.microsoft.com/azure/machine-learning/how-to-deploy-custom-container, "Locating the
    // mounted model"). The registered file or folder is inside it: the .onnx file up to two levels down.
    return {
      source: 'AZUREML_MODEL_DIR',
      ...(await localModel(options.azureModelDir, 'AZUREML_MODEL_DIR', 2)),
    };
  }
  const fetched = await modelFromStorage(undefined, { dir: await newDirIfStorage(env, newDir), env });
  if (fetched !== undefined) return storageChoice(fetched, env);
  const { manifest, bundleDir } = context;
  return {
    source: 'bundled',
    path: join(bundleDir, ...manifest.serve.model.split('/')),
    ...(manifest.serve.signature === undefined ? {} : { signature: manifest.serve.signature }),
  };
}

async function newDirIfStorage(env: NodeJS.ProcessEnv, newDir: () => Promise<string>): Promise<string> {
  // No temp folder for nothing: modelFromStorage returns at once without AIP_STORAGE_URI.
  return env['AIP_STORAGE_URI'] ? newDir() : tmpdir();
}

function storageChoice(fetched: { path: string; signature?: unknown }, env: NodeJS.ProcessEnv): ModelChoice {
  return {
    source: 'AIP_STORAGE_URI',
    path: fetched.path,
    from: env['AIP_STORAGE_URI'] ?? '',
    ...(fetched.signature === undefined ? {} : { signature: fetched.signature }),
  };
}
