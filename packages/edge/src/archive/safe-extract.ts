import { createWriteStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { ModelportError } from '@modelport/core';

import { readTarGz } from './read-tar.js';

/** Why an entry may not be extracted, or undefined when it may. */
export function unsafeEntryReason(path: string, type: string): string | undefined {
  if (path.startsWith('/')) return 'absolute path';
  if (path.includes('\\')) return 'backslash in path';
  if (path.includes('\0')) return 'NUL in path';
  if (path.split('/').some((part) => part === '..')) return 'path goes up (..)';
  if (type !== 'file' && type !== 'directory') return `${type} entries are not allowed in a bundle`;
  return undefined;
}

export interface ExtractResult {
  files: number;
  bytes: number;
}

/**
 * Extracts a bundle archive into `target`, which must be empty or absent. Refuses (before writing it) any
 * entry that would land outside the target: absolute paths, '..', and links of every kind, since a
 * symlink extracted first can redirect a later entry anywhere. Only files and folders come out; modes
 * keep their permission bits (so bin/node stays executable), never set-id bits.
 */
export async function extractBundle(archive: string, target: string): Promise<ExtractResult> {
  const root = resolve(target);
  await mkdir(root, { recursive: true });
  if ((await readdir(root)).length > 0) {
    throw new ModelportError('conflict', `${target} is not empty`, { hint: 'extract into a new folder' });
  }
  let files = 0;
  let bytes = 0;
  await readTarGz(archive, async (entry) => {
    const reason = unsafeEntryReason(entry.path, entry.type);
    const destination = resolve(root, entry.path);
    if (reason !== undefined || !(destination + sep).startsWith(root + sep)) {
      entry.stream.resume();
      throw new ModelportError(
        'invalidInput',
        `refusing archive entry ${JSON.stringify(entry.path)}: ${reason ?? 'outside the target folder'}`,
        {
          hint: 'the archive is not a modelport bundle, or was tampered with',
          details: { entry: entry.path, archive },
        },
      );
    }
    if (entry.type === 'directory') {
      await mkdir(destination, { recursive: true, mode: 0o755 });
      entry.stream.resume();
      return;
    }
    await mkdir(dirname(destination), { recursive: true });
    // 'wx': never write through something that already exists (a duplicate entry, a planted link).
    await pipeline(entry.stream, createWriteStream(destination, { flags: 'wx', mode: entry.mode & 0o777 }));
    files++;
    bytes += entry.size;
  });
  return { files, bytes };
}
