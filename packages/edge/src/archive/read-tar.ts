import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import { extract } from 'tar-stream';

/** One entry of an archive as read: its normalised path and type, and its content as a stream. */
export interface ReadEntry {
  /** Path with any leading './' removed and no trailing '/'. */
  path: string;
  type: string;
  mode: number;
  size: number;
  linkname: string | undefined;
  /** The content; read it to the end, or call resume() to skip it. */
  stream: AsyncIterable<Buffer> & { resume(): unknown };
}

/** Normalises an entry name; returns undefined for the archive root ('./'). */
export function normaliseEntryPath(name: string): string | undefined {
  let path = name;
  while (path.startsWith('./')) path = path.slice(2);
  while (path.endsWith('/')) path = path.slice(0, -1);
  return path === '' || path === '.' ? undefined : path;
}

/**
 * Calls `onEntry` for every entry of a .tar.gz (or plain .tar), in order. The callback must consume or
 * drain the entry's stream. Reading is streamed: archives of any size use little memory.
 */
export async function readTarGz(file: string, onEntry: (entry: ReadEntry) => Promise<void>): Promise<void> {
  const head = Buffer.alloc(2);
  const handle = await open(file, 'r');
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  const parser = extract();
  const consume = (async () => {
    for await (const entry of parser) {
      const header = entry.header;
      const path = normaliseEntryPath(header.name);
      if (path === undefined) {
        entry.resume();
        continue;
      }
      await onEntry({
        path,
        type: header.type ?? 'file',
        mode: header.mode ?? 0o644,
        size: header.size ?? 0,
        linkname: header.linkname ?? undefined,
        stream: entry as unknown as ReadEntry['stream'],
      });
    }
  })();
  const source = createReadStream(file);
  // Node's gunzip reads multi-member gzip (what writeTarGz produces) as one stream.
  const feed = gzipped ? pipeline(source, createGunzip(), parser) : pipeline(source, parser);
  const [fed, consumed] = await Promise.allSettled([feed, consume]);
  if (consumed.status === 'rejected') throw consumed.reason;
  if (fed.status === 'rejected') throw fed.reason;
}
