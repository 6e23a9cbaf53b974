import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** Where a file's bytes come from: a file on disk, or bytes built in memory (scripts, manifests). */
export type FileSource = { kind: 'file'; path: string } | { kind: 'bytes'; bytes: Uint8Array };

export interface FileEntry {
  type: 'file';
  path: string;
  mode: number;
  size: number;
  sha256: string;
  source: FileSource;
}
export interface DirectoryEntry {
  type: 'directory';
  path: string;
  mode: number;
  /** Numeric owner, for a folder an image's non-root user must write to (default root). */
  uid?: number;
  gid?: number;
}
export interface SymlinkEntry {
  type: 'symlink';
  path: string;
  mode: number;
  linkname: string;
}
export type TreeEntry = FileEntry | DirectoryEntry | SymlinkEntry;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// Hashing the 100 MB Node binary costs a few hundred ms: remember it per file version within a process.
const hashMemo = new Map<string, { sha256: string; size: number }>();

/** SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const info = await stat(path);
  const key = `${path}\0${info.size}\0${info.mtimeMs}\0${info.ino}`;
  const memo = hashMemo.get(key);
  if (memo !== undefined) return memo;
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const result = { sha256: hash.digest('hex'), size };
  hashMemo.set(key, result);
  return result;
}

/** Checks a path is a plain relative archive path: no '..', no '.', no empty parts, no backslashes. */
export function assertSafeRelativePath(path: string): void {
  const bad =
    path === '' ||
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    path.split('/').some((part) => part === '' || part === '.' || part === '..');
  if (bad) throw new Error(`not a safe relative path inside an archive: ${JSON.stringify(path)}`);
}

/** Byte order of the UTF-8 paths: the one order every machine and locale agrees on. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The files of an archive, independent of where they live on disk. Parent directories are implied
 * (0755); entries come out sorted by path bytes, so archives built from it never depend on the order the
 * files were added, or read from a folder.
 */
export class FileTree {
  private readonly entries = new Map<string, TreeEntry>();

  get size(): number {
    return this.entries.size;
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  get(path: string): TreeEntry | undefined {
    return this.entries.get(path);
  }

  async addFile(path: string, sourcePath: string, mode = 0o644): Promise<FileEntry> {
    const { sha256, size } = await hashFile(sourcePath);
    return this.put({ type: 'file', path, mode, size, sha256, source: { kind: 'file', path: sourcePath } });
  }

  addBytes(path: string, bytes: Uint8Array | string, mode = 0o644): FileEntry {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    return this.put({
      type: 'file',
      path,
      mode,
      size: data.length,
      sha256: sha256Hex(data),
      source: { kind: 'bytes', bytes: data },
    });
  }

  addDirectory(path: string, mode = 0o755, owner?: { uid: number; gid: number }): void {
    this.put({ type: 'directory', path, mode, ...(owner === undefined ? {} : owner) });
  }

  addSymlink(path: string, linkname: string): void {
    this.put({ type: 'symlink', path, mode: 0o777, linkname });
  }

  /** Adds an entry of another tree, under a folder prefix ('' for the same path). */
  addEntry(entry: TreeEntry, prefix = ''): void {
    this.put({ ...entry, path: prefix === '' ? entry.path : `${prefix}/${entry.path}` });
  }

  /** Adds every entry of another tree under a folder prefix ('' for the root). */
  merge(other: FileTree, prefix = ''): void {
    for (const entry of other.list()) this.addEntry(entry, prefix);
  }

  private put<E extends TreeEntry>(entry: E): E {
    assertSafeRelativePath(entry.path);
    const existing = this.entries.get(entry.path);
    if (existing !== undefined && !(existing.type === 'directory' && entry.type === 'directory')) {
      throw new Error(`two entries for ${entry.path} in one archive`);
    }
    this.entries.set(entry.path, entry);
    return entry;
  }

  /** Files only, sorted. */
  files(): FileEntry[] {
    return this.list().filter((e): e is FileEntry => e.type === 'file');
  }

  /** Every entry with the implied parent directories, sorted by path bytes. */
  list(): TreeEntry[] {
    const all = new Map(this.entries);
    for (const path of this.entries.keys()) {
      for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
        const parent = path.slice(0, cut);
        const existing = all.get(parent);
        if (existing === undefined) all.set(parent, { type: 'directory', path: parent, mode: 0o755 });
        else if (existing.type !== 'directory') throw new Error(`${parent} is both a file and a folder`);
      }
    }
    return [...all.values()].sort((a, b) => comparePaths(a.path, b.path));
  }
}
