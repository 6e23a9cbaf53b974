// A POSIX ustar header encoder. Written here rather than taken from a tar library so that every byte of
// the header is decided by this file alone: the archive's bytes then depend only on the entries' paths,
// modes and contents (no clock, no owner, no host name, no library defaults that may change).

export type TarEntryType = 'file' | 'directory' | 'symlink';

export interface TarHeader {
  /** Path inside the archive, '/'-separated, relative (no leading '/'); directories without a trailing '/'. */
  path: string;
  type: TarEntryType;
  /** Permission bits only (0o644, 0o755). */
  mode: number;
  /** Content size in bytes (0 for directories and symlinks). */
  size: number;
  /** Symlink target. */
  linkname?: string;
  /** Numeric owner; 0 (root) unless a folder must belong to an image's user. Names are never written. */
  uid?: number;
  gid?: number;
}

export const BLOCK = 512;
/** ustar's 12-byte octal size field holds at most 8 GiB - 1. */
export const MAX_ENTRY_SIZE = 0o77777777777;

const TYPEFLAG: Readonly<Record<TarEntryType, number>> = { file: 0x30, directory: 0x35, symlink: 0x32 };

function writeString(block: Buffer, offset: number, length: number, value: string, what: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length)
    throw new Error(`${what} is too long for a tar header (${bytes.length} > ${length} bytes)`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length - 1 zero-padded octal digits and a NUL, the form GNU tar and bsdtar write.
  block.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

/** Splits a long path into ustar's prefix (155 bytes) and name (100 bytes) at a '/'. */
function splitPath(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let cut = path.indexOf('/'); cut !== -1; cut = path.indexOf('/', cut + 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '')
      return { prefix, name };
  }
  throw new Error(`path is too long for a ustar archive: ${path}`);
}

/** The 512-byte header block of one entry. */
export function encodeHeader(header: TarHeader): Buffer {
  if (header.size < 0 || header.size > MAX_ENTRY_SIZE || !Number.isInteger(header.size)) {
    throw new Error(`${header.path}: size ${header.size} does not fit a ustar header`);
  }
  const block = Buffer.alloc(BLOCK);
  const { prefix, name } = splitPath(header.type === 'directory' ? `${header.path}/` : header.path);
  writeString(block, 0, 100, name, `name of ${header.path}`);
  writeOctal(block, 100, 8, header.mode & 0o7777);
  writeOctal(block, 108, 8, header.uid ?? 0);
  writeOctal(block, 116, 8, header.gid ?? 0);
  writeOctal(block, 124, 12, header.type === 'file' ? header.size : 0);
  writeOctal(block, 136, 12, 0); // mtime: the epoch, always
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block[156] = TYPEFLAG[header.type];
  if (header.type === 'symlink')
    writeString(block, 157, 100, header.linkname ?? '', `link of ${header.path}`);
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  // uname/gname (265, 297) stay empty; devmajor/devminor as zero octal like GNU tar.
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  writeString(block, 345, 155, prefix, `prefix of ${header.path}`);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** Zero bytes that round an entry's content up to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Two zero blocks end a tar archive. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);
