import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { createGunzip } from 'node:zlib';

/**
 * Extracts the regular files of a `.tar.gz` (ustar, as SageMaker model artifacts are) into `dir`, and returns
 * their relative paths. Small on purpose: model archives hold a few files; no links, no special files.
 */
export async function extractTarGz(archive: string, dir: string): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(archive).pipe(createGunzip())) chunks.push(chunk as Buffer);
  const data = Buffer.concat(chunks);
  const files: string[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= data.length) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = cString(header.subarray(0, 100));
    const size = Number.parseInt(cString(header.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = cString(header.subarray(345, 500));
    const body = data.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    const path = longName ?? (prefix === '' ? name : `${prefix}/${name}`);
    longName = undefined;
    if (type !== '0' && type !== '\0') continue;
    const safe = normalize(path)
      .replace(/^(\.\.(\/|$))+/, '')
      .replace(/^\/+/, '');
    const target = join(dir, safe);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, body);
    files.push(safe);
  }
  return files;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}
