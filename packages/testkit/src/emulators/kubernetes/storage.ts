// KServe's storage initializer for the fake API server: what fills /mnt/models before the kserve-container
// starts. The model storage itself (S3, GCS, an HTTP server, a PVC) is a folder tests fill.
//
// Rules (each from KServe's source or docs):
// - The storage URI of a custom predictor is the STORAGE_URI variable of the container named kserve-container
//   (CustomPredictor.GetStorageUri, kserve/kserve pkg/apis/serving/v1beta1/predictor_custom.go).
// - It is downloaded into /mnt/models (constants.DefaultModelLocalMountPath), an emptyDir shared by the
//   storage-initializer init container and the kserve-container; s3://, gs://, http(s):// … are the default
//   ClusterStorageContainer's URI formats (https://kserve.github.io/website/docs/model-serving/storage/storage-containers).
// - A single object lands as /mnt/models/<its file name>; a prefix gives the objects below it with their
//   paths relative to the prefix (kserve python/storage `_download_s3` / `_download_gcs`).
// - pvc://<claim>/<path> is not copied: the claim is mounted at /mnt/models with <path> as its subPath
//   ("pvcPath must be a root or Dir", storage_initializer_injector.go). A file sub-path is therefore mounted
//   *as* /mnt/models (a Kubernetes subPath mount of a file), and a missing one is created empty by the kubelet.
// - Archives (.tar.gz, .zip) are unpacked by the real initializer; this fake does not (guess: not needed yet).
import { cp, mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Where the fake finds the objects a storage URI names: a host file or folder, or undefined (no such object). */
export interface ModelStorage {
  resolve(uri: string): string | undefined;
}

const SCHEME = /^(s3|gs|pvc|https?):\/\/(.+)$/;

/**
 * Storage kept in one host folder: `s3://bucket/key` is `<root>/s3/bucket/key`, `gs://b/k` `<root>/gs/b/k`,
 * `pvc://claim/path` `<root>/pvc/claim/path`, `https://host/path` `<root>/https/host/path`. A folder there is a
 * prefix, a file an object. Tests copy model files in.
 */
export function folderStorage(root: string): ModelStorage & { pathOf(uri: string): string } {
  const pathOf = (uri: string): string => {
    const match = SCHEME.exec(uri);
    if (match === null) throw new Error(`${uri}: not an s3://, gs://, pvc:// or http(s):// URI`);
    const [, scheme, rest] = match;
    return join(root, scheme === 'http' ? 'https' : (scheme as string), (rest as string).replace(/\/+$/, ''));
  };
  return {
    pathOf,
    resolve: (uri) => (SCHEME.test(uri) ? pathOf(uri) : undefined),
  };
}

export type StorageResult =
  | {
      ok: true;
      /** The host path mounted at /mnt/models (a folder, or a file for a pvc:// file sub-path). */ mount: string;
    }
  | { ok: false; message: string };

/** What the storage-initializer init container does for one pod: fills (or, for pvc://, picks) /mnt/models. */
export async function initializeStorage(
  uri: string,
  storage: ModelStorage | undefined,
  podDir: string,
): Promise<StorageResult> {
  const models = join(podDir, 'mnt-models');
  if (uri.startsWith('pvc://')) {
    const source = storage?.resolve(uri);
    if (source === undefined) return { ok: false, message: `no storage for ${uri}` };
    // The kubelet creates a missing subPath as an empty folder; the container then finds no model.
    if (!(await exists(source))) await mkdir(source, { recursive: true });
    return { ok: true, mount: source };
  }
  await mkdir(models, { recursive: true });
  const source = storage?.resolve(uri);
  if (source === undefined || !(await exists(source))) {
    // kserve storage.py: RuntimeError("Failed to fetch model. No model found in <uri>.")
    return { ok: false, message: `Failed to fetch model. No model found in ${uri}.` };
  }
  if ((await stat(source)).isFile()) {
    await cp(source, join(models, basename(source)));
  } else {
    await cp(source, models, { recursive: true });
  }
  return { ok: true, mount: models };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
