import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { deflateBytes, type DeflateCache, type Deflated } from './deflate-cache.js';
import type { FileEntry, TreeEntry } from './file-tree.js';
import { HashingFileWriter } from './hashing-writer.js';
import { encodeHeader, END_OF_ARCHIVE, padding } from './ustar.js';

/** Files at least this big get their own gzip member, compressed once and cached by content. */
export const BIG_FILE_BYTES = 1 << 20;
/** Small entries are grouped into members of about this many uncompressed bytes. */
const GROUP_BYTES = 4 << 20;

// gzip member header (RFC 1952): magic, deflate, no flags, mtime 0, no extra flags, OS 3 (Unix). Fixed
// bytes, unlike Node's zlib, whose OS byte follows the machine that compressed.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/** A complete gzip member around one deflate stream. */
export function gzipMember(content: Deflated): Buffer[] {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(content.crc32 >>> 0, 0);
  trailer.writeUInt32LE(content.size % 0x1_0000_0000, 4); // ISIZE is the size modulo 2^32
  return [
    GZIP_HEADER,
    Buffer.from(content.deflated.buffer, content.deflated.byteOffset, content.deflated.length),
    trailer,
  ];
}

export async function readSource(file: FileEntry): Promise<Uint8Array> {
  return file.source.kind === 'bytes' ? file.source.bytes : readFile(file.source.path);
}

export interface TarGzResult {
  path: string;
  bytes: number;
  /** SHA-256 of the .tar.gz. */
  sha256: string;
  /** SHA-256 of the uncompressed tar (an OCI layer's diff_id), when asked for. */
  diffId?: string;
}

export interface TarGzOptions {
  cache: DeflateCache;
  /** Also hash the uncompressed tar (re-reads the big files). */
  diffId?: boolean;
  onProgress?: (message: string) => void;
}

/**
 * Writes a reproducible .tar.gz of the entries: ustar headers with mtime 0, uid/gid 0, no owner names,
 * entries in path-byte order, and gzip with fixed header bytes. The gzip stream is a series of members
 * (RFC 1952 allows it; gzip, GNU tar, Go, Python and Node all read it as one stream): each file of 1 MiB
 * or more is its own member, whose compressed bytes come from the content-addressed cache; the small
 * entries between them are grouped. Same entries → same bytes, whether the cache was warm or cold.
 */
export async function writeTarGz(
  entries: readonly TreeEntry[],
  outPath: string,
  options: TarGzOptions,
): Promise<TarGzResult> {
  const { cache } = options;
  const big = entries.filter((e): e is FileEntry => e.type === 'file' && e.size >= BIG_FILE_BYTES);
  await cache.ensure(big, (done, total) => options.onProgress?.(`compressed ${done}/${total} large files`));
  const out = await HashingFileWriter.create(outPath);
  const raw = options.diffId === true ? createHash('sha256') : undefined;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const group = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    raw?.update(group);
    await out.write(...gzipMember(deflateBytes(group, cache.level)));
  };
  const queue = (...chunks: Uint8Array[]): void => {
    for (const chunk of chunks) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  };
  try {
    for (const entry of entries) {
      queue(encodeHeader(entry.type === 'file' ? entry : { ...entry, size: 0 }));
      if (entry.type !== 'file') continue;
      if (entry.size >= BIG_FILE_BYTES) {
        await flush();
        await out.write(...gzipMember(await cache.require(entry)));
        if (raw !== undefined) raw.update(await readSource(entry));
      } else {
        const content = await readSource(entry);
        if (content.length !== entry.size) throw new Error(`${entry.path} changed while it was packaged`);
        queue(content);
      }
      queue(padding(entry.size));
      if (pendingBytes >= GROUP_BYTES) await flush();
    }
    queue(END_OF_ARCHIVE);
    await flush();
    const { sha256, bytes } = await out.commit();
    const result: TarGzResult = { path: outPath, bytes, sha256 };
    if (raw !== undefined) result.diffId = raw.digest('hex');
    return result;
  } catch (error) {
    await out.abort();
    throw error;
  }
}
