import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ModelportError } from './errors.js';
import { specHash } from './hash.js';
import type { ModelSignature } from './manifest/manifest.generated.js';

/** SHA-256 (hex) of a local model file; an `invalidInput` error with `hint` when it cannot be read. */
export async function sha256File(
  path: string,
  hint = 'spec.model.uri is resolved against the manifest folder',
): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new ModelportError(
      'invalidInput',
      `cannot read the model file ${path}: ${(error as Error).message}`,
      {
        hint,
        cause: error,
      },
    );
  }
  return hash.digest('hex');
}

/**
 * A local model file a cloud provider uploads itself: its path (`uri` resolved against the manifest
 * folder), its file name, and a hash of its content, name and signature (the uploaded copy is named by
 * it, so a changed model is a new object and an unchanged one is never uploaded twice).
 */
export async function localModelUpload(
  baseDir: string,
  uri: string,
  signature: ModelSignature | undefined,
): Promise<{ fileName: string; hash: string; upload: { localPath: string; signature?: ModelSignature } }> {
  const localPath = isAbsolute(uri) ? uri : resolve(baseDir, uri);
  const fileName = basename(localPath);
  const sha256 = await sha256File(localPath);
  const hash = specHash({ sha256, fileName, signature: signature ?? null });
  return { fileName, hash, upload: { localPath, ...(signature === undefined ? {} : { signature }) } };
}

const INPUT_EXTENSIONS = new Set(['.jsonl', '.csv']);

/**
 * The `.jsonl` and `.csv` files of a local batch-input folder, in name order, each with its SHA-256 (what a
 * cloud provider uploads, under a prefix named by their hash). `invalidInput` when the folder cannot be
 * read or has none.
 */
export async function hashedInputFiles(dir: string): Promise<{ name: string; sha256: string }[]> {
  let names: string[];
  try {
    names = (await readdir(dir))
      .filter((n) => INPUT_EXTENSIONS.has(n.slice(n.lastIndexOf('.')).toLowerCase()))
      .sort();
  } catch (error) {
    throw new ModelportError(
      'invalidInput',
      `cannot read the input folder ${dir}: ${(error as Error).message}`,
    );
  }
  if (names.length === 0) {
    throw new ModelportError('invalidInput', `the input folder ${dir} has no .jsonl or .csv file`);
  }
  return Promise.all(names.map(async (name) => ({ name, sha256: await sha256File(join(dir, name)) })));
}
