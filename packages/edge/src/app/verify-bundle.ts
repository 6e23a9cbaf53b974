import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  BUNDLE_MANIFEST,
  BUNDLE_PUBLIC_KEY,
  BUNDLE_SCHEMA,
  BUNDLE_SIGNATURE,
  STATE_DIR,
  type BundleManifest,
} from './bundle-format.js';
import { keyIdOf, parseSignature, publicKeyFromPem, signatureMatches } from './signature-check.js';

/** A file found in a bundle (a folder or an archive). Its hash is computed only when needed. */
export interface FoundFile {
  type: 'file' | 'symlink' | 'other';
  size: number;
  sha256(): Promise<string>;
  /** The content, for the few small files the check reads (bundle.pub). */
  read?(): Promise<Uint8Array>;
}

/** What a bundle holds, however it was read. */
export interface BundleContents {
  manifestBytes: Uint8Array | undefined;
  signatureBytes: Uint8Array | undefined;
  /** Every entry but bundle.json, bundle.sig and the state folder, by path. */
  found: Map<string, FoundFile>;
}

export interface VerifyOptions {
  /** The key the bundle must be signed with (PEM). Without it the embedded bundle.pub is used. */
  publicKeyPem?: string | Buffer;
  /** Refuse an unsigned bundle even when no key is given. */
  requireSignature?: boolean;
}

export interface VerifyReport {
  ok: boolean;
  /** Whether bundle.sig is present and valid for the key used. */
  signed: boolean;
  /**
   * Which key the signature was checked against: one given by the caller (a trust anchor), or the one
   * embedded in the bundle (which proves integrity, not origin: whoever can rewrite the bundle can
   * re-sign it with their own key; give --pubkey for that).
   */
  trust: 'given-key' | 'embedded-key' | 'none';
  keyId?: string;
  /** Files checked against the manifest. */
  files: number;
  problems: string[];
  manifest?: BundleManifest;
}

const MAX_LISTED_PROBLEMS = 20;

function parseManifest(bytes: Uint8Array): BundleManifest | string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return `${BUNDLE_MANIFEST} is not valid JSON`;
  }
  const manifest = value as Partial<BundleManifest> | null;
  if (manifest === null || typeof manifest !== 'object' || manifest.schema !== BUNDLE_SCHEMA) {
    return `${BUNDLE_MANIFEST} is not a ${BUNDLE_SCHEMA} manifest`;
  }
  if (!Array.isArray(manifest.files) || manifest.serve === undefined)
    return `${BUNDLE_MANIFEST} has no file list`;
  return manifest as BundleManifest;
}

/**
 * Checks a bundle: the signature over bundle.json (against the given key, else the embedded one), then
 * every listed file's size and SHA-256, and that nothing unlisted was added. Collects every problem.
 */
export async function checkBundle(
  contents: BundleContents,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const problems: string[] = [];
  const report: VerifyReport = { ok: false, signed: false, trust: 'none', files: 0, problems };
  if (contents.manifestBytes === undefined) {
    problems.push(`no ${BUNDLE_MANIFEST}: not a modelport edge bundle`);
    return report;
  }
  const manifest = parseManifest(contents.manifestBytes);
  if (typeof manifest === 'string') {
    problems.push(manifest);
    return report;
  }
  report.manifest = manifest;

  // 1. The signature, before any file is trusted.
  const givenKey = options.publicKeyPem === undefined ? undefined : publicKeyFromPem(options.publicKeyPem);
  if (options.publicKeyPem !== undefined && givenKey === undefined) {
    problems.push('the given public key is not an ed25519 public key in PEM form');
  }
  if (contents.signatureBytes === undefined) {
    if (options.publicKeyPem !== undefined || options.requireSignature === true) {
      problems.push(`the bundle is not signed (no ${BUNDLE_SIGNATURE}), but a signature is required`);
    }
  } else {
    const signature = parseSignature(contents.signatureBytes);
    const embedded = contents.found.get(BUNDLE_PUBLIC_KEY);
    let key = givenKey;
    if (key === undefined && options.publicKeyPem === undefined && embedded?.type === 'file') {
      const pem = embedded.read === undefined || embedded.size > 4096 ? undefined : await embedded.read();
      key = pem === undefined ? undefined : publicKeyFromPem(Buffer.from(pem));
    }
    if (signature === undefined) {
      problems.push(`${BUNDLE_SIGNATURE} is not a valid signature file`);
    } else if (key === undefined) {
      if (options.publicKeyPem === undefined)
        problems.push(`the bundle is signed but has no usable ${BUNDLE_PUBLIC_KEY}; give the public key`);
    } else {
      report.keyId = signature.keyId;
      const expected = keyIdOf(key);
      if (signature.keyId !== expected) {
        problems.push(`the bundle was signed by key ${signature.keyId}, not by ${expected}`);
      } else if (!signatureMatches(key, contents.manifestBytes, signature)) {
        problems.push(`the signature does not match ${BUNDLE_MANIFEST}: it was changed after signing`);
      } else {
        report.signed = true;
        report.trust = givenKey !== undefined ? 'given-key' : 'embedded-key';
      }
    }
  }

  // 2. Every listed file, then anything unlisted.
  const listed = new Set<string>();
  for (const file of manifest.files) {
    listed.add(file.path);
    const found = contents.found.get(file.path);
    if (found === undefined) problems.push(`missing file ${file.path}`);
    else if (found.type !== 'file') problems.push(`${file.path} is not a regular file (a ${found.type})`);
    else if (found.size !== file.size)
      problems.push(`${file.path} has ${found.size} bytes, the manifest says ${file.size}`);
    else if ((await found.sha256()) !== file.sha256)
      problems.push(`${file.path} does not match its SHA-256 (modified)`);
    else report.files++;
  }
  for (const path of contents.found.keys()) {
    if (!listed.has(path)) problems.push(`unexpected file ${path} (not in ${BUNDLE_MANIFEST})`);
  }
  if (problems.length > MAX_LISTED_PROBLEMS) {
    problems.splice(
      MAX_LISTED_PROBLEMS,
      problems.length - MAX_LISTED_PROBLEMS,
      `... and ${problems.length - MAX_LISTED_PROBLEMS} more`,
    );
  }
  report.ok = problems.length === 0;
  return report;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    const info = await lstat(path);
    if (!info.isFile()) return undefined;
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/** Reads a bundle folder: lists every entry (symlinks are not followed), hashes lazily. */
export async function readBundleDir(dir: string): Promise<BundleContents> {
  const found = new Map<string, FoundFile>();
  const walk = async (folder: string, prefix: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const full = join(folder, entry.name);
      if (prefix === '' && (entry.name === BUNDLE_MANIFEST || entry.name === BUNDLE_SIGNATURE)) continue;
      if (prefix === '' && entry.name === STATE_DIR && entry.isDirectory()) continue;
      if (entry.isDirectory()) {
        await walk(full, path);
      } else if (entry.isFile()) {
        const { size } = await lstat(full);
        let memo: Promise<string> | undefined;
        found.set(path, {
          type: 'file',
          size,
          sha256: () => (memo ??= hashFile(full)),
          read: () => readFile(full),
        });
      } else {
        found.set(path, {
          type: entry.isSymbolicLink() ? 'symlink' : 'other',
          size: 0,
          sha256: async () => '',
        });
      }
    }
  };
  await walk(dir, '');
  return {
    manifestBytes: await readOptional(join(dir, BUNDLE_MANIFEST)),
    signatureBytes: await readOptional(join(dir, BUNDLE_SIGNATURE)),
    found,
  };
}

export async function verifyBundleDir(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  return checkBundle(await readBundleDir(dir), options);
}
