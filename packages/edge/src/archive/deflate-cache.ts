import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

import { deflate, deflateSync } from 'fflate';

import type { FileEntry } from './file-tree.js';

/** fflate's version: part of the cache key, since a new version may compress differently. */
export const FFLATE_VERSION = '0.8.3';
/** zlib's default level: for binaries and weights, 9 is twice as slow and under 0.5 % smaller. */
export const DEFAULT_LEVEL = 6;
const STALE_LOCK_MS = 10 * 60 * 1000;

/** One file's content, deflated (raw DEFLATE, RFC 1951), with what gzip and ZIP framing need. */
export interface Deflated {
  deflated: Uint8Array;
  crc32: number;
  size: number;
}

export function deflateBytes(bytes: Uint8Array, level: number): Deflated {
  return { deflated: deflateSync(bytes, { level: level as 6 }), crc32: crc32(bytes), size: bytes.length };
}

function deflateInWorker(bytes: Uint8Array, level: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    deflate(bytes, { level: level as 6 }, (error, data) => (error ? reject(error) : resolve(data))),
  );
}

/**
 * Deflated contents of large files, keyed by their SHA-256 and the compression settings. Compression is
 * most of the cost of packaging (the Node binary and onnxruntime are ~145 MB and the same in every
 * bundle): with this cache a rebuild compresses only what changed, and the tar.gz, the OCI layers and the
 * Greengrass ZIP share the work. fflate is pure JS, so the bytes depend on its version and the level only,
 * never on the machine (Node's zlib may pick other matches on CPUs with SIMD).
 *
 * On disk: `<dir>/deflate-v1/fflate-<version>-l<level>/<sha256>` = crc32 (4 bytes, BE), size (8 bytes,
 * BE), then the raw deflate stream. Written to a temporary name then renamed, so concurrent builds at
 * worst both compute an entry.
 */
export class DeflateCache {
  private readonly memory = new Map<string, Deflated>();
  private readonly folder: string | undefined;

  constructor(
    dir: string | undefined,
    readonly level: number = DEFAULT_LEVEL,
  ) {
    this.folder =
      dir === undefined ? undefined : join(dir, 'deflate-v1', `fflate-${FFLATE_VERSION}-l${level}`);
  }

  private fileOf(sha256: string): string | undefined {
    return this.folder === undefined ? undefined : join(this.folder, sha256);
  }

  /** Whether an entry exists (without reading it). */
  async has(sha256: string): Promise<boolean> {
    if (this.memory.has(sha256)) return true;
    const file = this.fileOf(sha256);
    return file !== undefined && (await stat(file).catch(() => undefined)) !== undefined;
  }

  async get(sha256: string): Promise<Deflated | undefined> {
    const inMemory = this.memory.get(sha256);
    if (inMemory !== undefined) return inMemory;
    const file = this.fileOf(sha256);
    if (file === undefined) return undefined;
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch {
      return undefined;
    }
    if (raw.length < 12) return undefined;
    return { crc32: raw.readUInt32BE(0), size: Number(raw.readBigUInt64BE(4)), deflated: raw.subarray(12) };
  }

  private async put(sha256: string, value: Deflated): Promise<void> {
    const file = this.fileOf(sha256);
    if (file === undefined || this.folder === undefined) {
      this.memory.set(sha256, value);
      return;
    }
    await mkdir(this.folder, { recursive: true });
    const head = Buffer.alloc(12);
    head.writeUInt32BE(value.crc32, 0);
    head.writeBigUInt64BE(BigInt(value.size), 4);
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'w');
      try {
        await handle.writev([head, value.deflated]);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * Makes sure every given file is in the cache, compressing the missing ones in worker threads (one per
   * core), largest first so the longest job starts earliest.
   */
  async ensure(
    files: readonly FileEntry[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    const unique = new Map<string, FileEntry>();
    for (const file of files) if (!unique.has(file.sha256)) unique.set(file.sha256, file);
    const missing: FileEntry[] = [];
    for (const file of unique.values()) if (!(await this.has(file.sha256))) missing.push(file);
    missing.sort((a, b) => b.size - a.size);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (let file = missing[next++]; file !== undefined; file = missing[next++]) {
        const release = await this.lock(file.sha256);
        try {
          // Another build may have compressed it while this one waited for the lock.
          if (!(await this.has(file.sha256))) {
            const bytes = file.source.kind === 'bytes' ? file.source.bytes : await readFile(file.source.path);
            const checksum = crc32(bytes);
            const deflated = await deflateInWorker(bytes, this.level);
            await this.put(file.sha256, { deflated, crc32: checksum, size: bytes.length });
          }
        } finally {
          await release();
        }
        onProgress?.(++done, missing.length);
      }
    };
    const lanes = Math.max(1, Math.min(availableParallelism(), missing.length));
    await Promise.all(Array.from({ length: lanes }, worker));
  }

  /**
   * A lock file per entry, so that builds running at the same time (test files in parallel, two CI jobs
   * on one cache) compress a large file once: the others wait for the entry instead of redoing ~10 s of
   * work. A lock older than 10 minutes belongs to a build that died and is taken over.
   */
  private async lock(sha256: string): Promise<() => Promise<void>> {
    const file = this.fileOf(sha256);
    if (file === undefined || this.folder === undefined) return async () => undefined;
    await mkdir(this.folder, { recursive: true });
    const lockFile = `${file}.lock`;
    for (;;) {
      try {
        await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
        return () => rm(lockFile, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = await stat(lockFile).catch(() => undefined);
      if (held !== undefined && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (await this.has(sha256)) return async () => undefined;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The deflated content of a file that `ensure` has seen. */
  async require(file: FileEntry): Promise<Deflated> {
    const found = await this.get(file.sha256);
    if (found === undefined) throw new Error(`internal: ${file.path} was not compressed`);
    // A truncated or foreign cache file must not end up in an archive.
    if (found.size !== file.size)
      throw new Error(
        `the compression cache entry of ${file.path} is damaged: remove ${this.folder ?? 'the cache'}`,
      );
    return found;
  }
}

/** Writes an in-memory value to a file atomically (temporary name, then rename). */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, path);
}
