import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';

import { ModelportError } from '@modelport/core';

import { BUNDLE_MANIFEST, BUNDLE_PUBLIC_KEY, BUNDLE_SIGNATURE } from './app/bundle-format.js';
import {
  checkBundle,
  readBundleDir,
  type BundleContents,
  type FoundFile,
  type VerifyOptions,
  type VerifyReport,
} from './app/verify-bundle.js';
import { readTarGz } from './archive/read-tar.js';
import { unsafeEntryReason } from './archive/safe-extract.js';
import { readPublicKey, publicKeyPem } from './signing/keys.js';

export type BundleVerification = VerifyReport & { source: string; format: 'dir' | 'tar.gz' };

const SMALL_FILES = new Set([BUNDLE_MANIFEST, BUNDLE_SIGNATURE, BUNDLE_PUBLIC_KEY]);

/** Reads a bundle archive in one pass, hashing every entry; nothing is written to disk. */
async function readBundleArchive(file: string): Promise<{ contents: BundleContents; unsafe: string[] }> {
  const found = new Map<string, FoundFile>();
  const unsafe: string[] = [];
  const contents: BundleContents = { manifestBytes: undefined, signatureBytes: undefined, found };
  await readTarGz(file, async (entry) => {
    const reason = unsafeEntryReason(entry.path, entry.type);
    if (entry.type === 'directory') {
      if (reason !== undefined) unsafe.push(`unsafe entry ${JSON.stringify(entry.path)}: ${reason}`);
      entry.stream.resume();
      return;
    }
    if (reason !== undefined) unsafe.push(`unsafe entry ${JSON.stringify(entry.path)}: ${reason}`);
    if (entry.type !== 'file') {
      found.set(entry.path, {
        type: entry.type === 'symlink' ? 'symlink' : 'other',
        size: 0,
        sha256: async () => '',
      });
      entry.stream.resume();
      return;
    }
    const hash = createHash('sha256');
    const keep: Buffer[] | undefined = SMALL_FILES.has(entry.path) ? [] : undefined;
    let size = 0;
    for await (const chunk of entry.stream) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (keep !== undefined && size <= 1 << 20) keep.push(chunk as Buffer);
    }
    const digest = hash.digest('hex');
    const bytes = keep === undefined ? undefined : Buffer.concat(keep);
    if (found.has(entry.path) || (entry.path === BUNDLE_MANIFEST && contents.manifestBytes !== undefined)) {
      unsafe.push(`duplicate entry ${entry.path}`);
    }
    if (entry.path === BUNDLE_MANIFEST) contents.manifestBytes = bytes;
    else if (entry.path === BUNDLE_SIGNATURE) contents.signatureBytes = bytes;
    else {
      const value: FoundFile = { type: 'file', size, sha256: async () => digest };
      if (bytes !== undefined) value.read = async () => bytes;
      found.set(entry.path, value);
    }
  });
  return { contents, unsafe };
}

export interface VerifyBundleOptions {
  /** Path of the public key (PEM) the bundle must be signed with. */
  publicKey?: string;
  requireSignature?: boolean;
}

/**
 * Verifies a bundle folder or .tar.gz: signature (against the given key, else the embedded one), every
 * file's SHA-256, nothing added; for archives also that no entry could escape an extraction folder.
 */
export async function verifyBundle(
  path: string,
  options: VerifyBundleOptions = {},
): Promise<BundleVerification> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ModelportError('notFound', `no bundle at ${path}`, { hint: 'give a bundle folder or .tar.gz' });
  }
  const verifyOptions: VerifyOptions = {};
  if (options.publicKey !== undefined)
    verifyOptions.publicKeyPem = publicKeyPem(await readPublicKey(options.publicKey));
  if (options.requireSignature === true) verifyOptions.requireSignature = true;
  if (info.isDirectory()) {
    return { ...(await checkBundle(await readBundleDir(path), verifyOptions)), source: path, format: 'dir' };
  }
  let read;
  try {
    read = await readBundleArchive(path);
  } catch (error) {
    throw new ModelportError(
      'invalidInput',
      `${path} is not a readable .tar.gz bundle: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const report = await checkBundle(read.contents, verifyOptions);
  if (read.unsafe.length > 0) {
    report.problems.unshift(...read.unsafe);
    report.ok = false;
  }
  return { ...report, source: path, format: 'tar.gz' };
}
