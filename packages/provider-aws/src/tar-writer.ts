import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface TarEntry {
  /** Name inside the archive (flat: SageMaker unpacks model.tar.gz into /opt/ml/model). */
  name: string;
  /** A file to stream in, or the bytes themselves. */
  source: { path: string } | { data: Buffer };
}

/**
 * Writes a gzipped ustar archive, streaming each file (a multi-GB model never sits in memory). Entries
 * carry fixed owner, mode and mtime 0, so the same files always give the same bytes.
 */
export async function writeTarGz(target: string, entries: readonly TarEntry[]): Promise<void> {
  const tar = new PassThrough();
  const done = pipeline(tar, createGzip({ level: 6 }), createWriteStream(target));
  for (const entry of entries) {
    const size = 'data' in entry.source ? entry.source.data.length : (await stat(entry.source.path)).size;
    await write(tar, header(entry.name, size));
    if ('data' in entry.source) await write(tar, entry.source.data);
    else for await (const chunk of createReadStream(entry.source.path)) await write(tar, chunk as Buffer);
    const pad = (512 - (size % 512)) % 512;
    if (pad > 0) await write(tar, Buffer.alloc(pad));
  }
  await write(tar, Buffer.alloc(1024));
  tar.end();
  await done;
}

function write(stream: PassThrough, chunk: Buffer): Promise<void> {
  return stream.write(chunk) ? Promise.resolve() : new Promise((resolve) => stream.once('drain', resolve));
}

function header(name: string, size: number): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > 100) throw new Error(`tar entry name too long: ${name}`);
  const block = Buffer.alloc(512);
  bytes.copy(block, 0);
  block.write('0000644\0', 100, 'ascii'); // mode
  block.write('0000000\0', 108, 'ascii'); // uid
  block.write('0000000\0', 116, 'ascii'); // gid
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  block.write('00000000000\0', 136, 'ascii'); // mtime 0: reproducible archives
  block.write('        ', 148, 'ascii'); // checksum placeholder
  block.write('0', 156, 'ascii'); // regular file
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}
