import { deflateBytes, type DeflateCache, type Deflated } from './deflate-cache.js';
import type { FileEntry } from './file-tree.js';
import { HashingFileWriter } from './hashing-writer.js';
import { BIG_FILE_BYTES, readSource } from './tar-gz.js';

// MS-DOS date of 1980-01-01 00:00 (the earliest a ZIP can say): fixed, and independent of the time zone
// (fflate's zipSync would take a Date and convert it in local time).
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;
const DOS_TIME_MIDNIGHT = 0;
const VERSION_NEEDED = 20; // deflate
const MADE_BY_UNIX = (3 << 8) | 20; // external attributes carry Unix modes
const UTF8_NAMES = 0x0800;
const MAX_ZIP32 = 0xffff_ffff;

export interface ZipResult {
  path: string;
  bytes: number;
  sha256: string;
}

interface CentralRecord {
  name: Buffer;
  flags: number;
  content: Pick<Deflated, 'crc32' | 'size'> & { compressed: number };
  mode: number;
  offset: number;
}

/**
 * Writes a reproducible ZIP of the files (sorted by path, as given): fixed DOS date, Unix modes in the
 * external attributes (so `unzip` restores bin/node's execute bit), deflate from the shared cache for
 * large files. ZIP64 is not written: archives over 4 GiB are refused (use the tar.gz).
 */
export async function writeZip(
  files: readonly FileEntry[],
  outPath: string,
  cache: DeflateCache,
): Promise<ZipResult> {
  const big = files.filter((f) => f.size >= BIG_FILE_BYTES);
  await cache.ensure(big);
  if (files.length >= 0xffff) throw new Error('too many files for a ZIP without ZIP64');
  const out = await HashingFileWriter.create(outPath);
  const central: CentralRecord[] = [];
  try {
    for (const file of files) {
      const content: Deflated =
        file.size >= BIG_FILE_BYTES
          ? await cache.require(file)
          : deflateBytes(await readSource(file), cache.level);
      const name = Buffer.from(file.path, 'utf8');
      const flags = /^[\x20-\x7e]*$/.test(file.path) ? 0 : UTF8_NAMES;
      const offset = out.bytes;
      if (offset + 30 + name.length + content.deflated.length > MAX_ZIP32 || content.size > MAX_ZIP32) {
        throw new Error('the bundle is larger than 4 GiB: a ZIP without ZIP64 cannot hold it');
      }
      const header = Buffer.alloc(30);
      header.writeUInt32LE(0x04034b50, 0);
      header.writeUInt16LE(VERSION_NEEDED, 4);
      header.writeUInt16LE(flags, 6);
      header.writeUInt16LE(8, 8); // deflate
      header.writeUInt16LE(DOS_TIME_MIDNIGHT, 10);
      header.writeUInt16LE(DOS_DATE_1980_01_01, 12);
      header.writeUInt32LE(content.crc32 >>> 0, 14);
      header.writeUInt32LE(content.deflated.length, 18);
      header.writeUInt32LE(content.size, 22);
      header.writeUInt16LE(name.length, 26);
      header.writeUInt16LE(0, 28);
      await out.write(header, name, content.deflated);
      central.push({
        name,
        flags,
        content: { crc32: content.crc32, size: content.size, compressed: content.deflated.length },
        mode: file.mode,
        offset,
      });
    }
    const centralStart = out.bytes;
    for (const record of central) {
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(MADE_BY_UNIX, 4);
      header.writeUInt16LE(VERSION_NEEDED, 6);
      header.writeUInt16LE(record.flags, 8);
      header.writeUInt16LE(8, 10);
      header.writeUInt16LE(DOS_TIME_MIDNIGHT, 12);
      header.writeUInt16LE(DOS_DATE_1980_01_01, 14);
      header.writeUInt32LE(record.content.crc32 >>> 0, 16);
      header.writeUInt32LE(record.content.compressed, 20);
      header.writeUInt32LE(record.content.size, 24);
      header.writeUInt16LE(record.name.length, 28);
      // extra, comment, disk number, internal attributes: 0
      header.writeUInt32LE(((0o100000 | (record.mode & 0o7777)) << 16) >>> 0, 38);
      header.writeUInt32LE(record.offset, 42);
      await out.write(header, record.name);
    }
    const centralSize = out.bytes - centralStart;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(central.length, 8);
    end.writeUInt16LE(central.length, 10);
    end.writeUInt32LE(centralSize, 12);
    end.writeUInt32LE(centralStart, 16);
    await out.write(end);
    const { sha256, bytes } = await out.commit();
    return { path: outPath, bytes, sha256 };
  } catch (error) {
    await out.abort();
    throw error;
  }
}
