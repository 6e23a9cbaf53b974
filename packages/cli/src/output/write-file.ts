import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ModelportError } from '@modelport/core';

/** What the file is, for the messages (`-o` of migrate, `--report` of compare). */
export interface OutputFileOptions {
  /** The option that named the file, e.g. `-o`; the hint says to change it. */
  option?: string;
}

/** The names of the process's own standard streams: written to directly, whatever they are. */
const STANDARD_STREAMS: Record<string, 'stdout' | 'stderr'> = {
  '/dev/stdout': 'stdout',
  '/dev/stderr': 'stderr',
  '/dev/fd/1': 'stdout',
  '/dev/fd/2': 'stderr',
  '/proc/self/fd/1': 'stdout',
  '/proc/self/fd/2': 'stderr',
};

/**
 * Writes an output file the user named, without ever replacing something that is not a regular file:
 * - `-` (and /dev/stdout, /dev/stderr) write to the process's stream;
 * - a missing file or a regular file is written whole or not at all: a temporary file beside it, renamed
 *   over it once complete (the mode of a file it replaces is kept);
 * - a character device (/dev/null, a terminal) is written through, never renamed over;
 * - anything else (a symbolic link, a folder, a FIFO, a socket, a block device) is refused, naming it:
 *   renaming over it would replace it, and following a link would write somewhere the user did not name.
 */
export async function writeOutputFile(
  path: string,
  content: string,
  options: OutputFileOptions = {},
): Promise<void> {
  const stream = path === '-' ? 'stdout' : STANDARD_STREAMS[resolve(path)];
  if (stream !== undefined) {
    await writeToStream(stream === 'stdout' ? process.stdout : process.stderr, content);
    return;
  }
  const existing = await checkOutputTarget(path, options);
  if (existing?.isCharacterDevice() === true) {
    await writeThrough(path, content);
    return;
  }
  await writeFileAtomic(path, content, existing);
}

/**
 * Refuses (before any work is done) an output path that exists and is neither a regular file nor a
 * character device; returns what is there, or undefined when nothing is.
 */
export async function checkOutputTarget(
  path: string,
  options: OutputFileOptions = {},
): Promise<Stats | undefined> {
  if (path === '-' || STANDARD_STREAMS[resolve(path)] !== undefined) return undefined;
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelportError('invalidInput', `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: `check the path${options.option === undefined ? '' : ` given to ${options.option}`}`,
    });
  }
  if (stats.isFile() || stats.isCharacterDevice()) return stats;
  const what = await describe(path, stats);
  const option = options.option === undefined ? 'another path' : `another path to ${options.option}`;
  throw new ModelportError(
    'invalidInput',
    `refusing to write ${path}: it is ${what}, not a regular file; modelport writes only regular files (or through character devices such as /dev/null)`,
    {
      hint: stats.isSymbolicLink()
        ? `name the file itself (${option}, e.g. ${await linkTarget(path)}) or remove the link; write - for stdout`
        : `give ${option} (or - for stdout), or remove ${path} first`,
    },
  );
}

/** Writes a whole file or nothing: a temporary file beside it, renamed over it once complete. */
export async function writeFileAtomic(path: string, content: string, existing?: Stats): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, content, { flag: 'wx' });
    if (existing !== undefined) await chmod(temporary, existing.mode & 0o7777);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** A character device (/dev/null, a terminal): opened without following a link, written, never replaced. */
async function writeThrough(path: string, content: string): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    const opened = await handle.stat();
    if (!opened.isCharacterDevice()) {
      throw new ModelportError('invalidInput', `refusing to write ${path}: it changed while being opened`, {
        hint: 'run the command again',
      });
    }
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}

function writeToStream(stream: NodeJS.WriteStream, content: string): Promise<void> {
  return new Promise((resolveWrite, reject) => {
    stream.write(content, (error) => (error == null ? resolveWrite() : reject(error)));
  });
}

async function describe(path: string, stats: Stats): Promise<string> {
  if (stats.isSymbolicLink()) {
    const target = await linkTarget(path);
    let kind = 'nothing (a dangling link)';
    try {
      kind = describeKind(await stat(path));
    } catch {
      // a dangling link
    }
    return `a symbolic link to ${target} (${kind})`;
  }
  return describeKind(stats);
}

function describeKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isCharacterDevice()) return 'a character device';
  return 'not a regular file';
}

async function linkTarget(path: string): Promise<string> {
  try {
    return resolve(dirname(path), await readlink(path));
  } catch {
    return '(unreadable)';
  }
}
