import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DeflateCache } from './deflate-cache.js';
import { FileTree } from './file-tree.js';
import { readTarGz } from './read-tar.js';
import { BIG_FILE_BYTES, writeTarGz } from './tar-gz.js';

const run = promisify(execFile);
let work: string;

/** Deterministic pseudo-random bytes (compressible enough to exercise deflate, big enough for a member). */
function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = (state >>> 24) & (i % 7 === 0 ? 0xff : 0x0f);
  }
  return out;
}

const LONG = `deep/${'folder-with-a-long-name/'.repeat(5)}file.txt`;

/** The same content on disk twice, with different mtimes, permissions and creation order. */
async function makeSource(dir: string, variant: 0 | 1): Promise<void> {
  const files: [string, Buffer][] = [
    ['big.bin', bytes(BIG_FILE_BYTES + 123, 1)],
    ['a/b.txt', Buffer.from('hello\n')],
    ['run', Buffer.from('#!/bin/sh\necho hi\n')],
    [LONG, Buffer.from('long\n')],
  ];
  for (const [path, content] of variant === 0 ? files : [...files].reverse()) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    await chmod(join(dir, path), variant === 0 ? 0o600 : 0o777);
    const when = variant === 0 ? new Date('2001-02-03') : new Date();
    await utimes(join(dir, path), when, when);
  }
}

async function treeOf(dir: string, order: 'forward' | 'backward'): Promise<FileTree> {
  const tree = new FileTree();
  const adds: (() => Promise<unknown>)[] = [
    () => tree.addFile('big.bin', join(dir, 'big.bin')),
    () => tree.addFile('a/b.txt', join(dir, 'a/b.txt')),
    () => tree.addFile('run', join(dir, 'run'), 0o755),
    () => tree.addFile(LONG, join(dir, LONG)),
    async () => tree.addBytes('generated.json', '{"x":1}\n'),
  ];
  for (const add of order === 'forward' ? adds : [...adds].reverse()) await add();
  return tree;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-tar-'));
  await makeSource(join(work, 'src0'), 0);
  await makeSource(join(work, 'src1'), 1);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('writeTarGz', () => {
  it('gives the same bytes whatever the mtimes, permissions, order, and cache state', async () => {
    const first = await writeTarGz(
      (await treeOf(join(work, 'src0'), 'forward')).list(),
      join(work, 'one.tar.gz'),
      {
        cache: new DeflateCache(undefined), // nothing cached: everything compressed now
      },
    );
    const cacheDir = join(work, 'cache');
    const coldCache = await writeTarGz(
      (await treeOf(join(work, 'src1'), 'backward')).list(),
      join(work, 'two.tar.gz'),
      {
        cache: new DeflateCache(cacheDir),
      },
    );
    const warmCache = await writeTarGz(
      (await treeOf(join(work, 'src1'), 'forward')).list(),
      join(work, 'three.tar.gz'),
      {
        cache: new DeflateCache(cacheDir),
        diffId: true,
      },
    );
    const [a, b, c] = await Promise.all(
      ['one', 'two', 'three'].map((n) => readFile(join(work, `${n}.tar.gz`))),
    );
    expect(Buffer.compare(a as Buffer, b as Buffer)).toBe(0);
    expect(Buffer.compare(a as Buffer, c as Buffer)).toBe(0);
    expect(coldCache.sha256).toBe(first.sha256);
    expect(warmCache.sha256).toBe(first.sha256);
    // diff_id: the SHA-256 of the uncompressed tar, as gunzip gives it.
    const { stdout } = await run('sh', ['-c', `gzip -dc '${join(work, 'one.tar.gz')}' | sha256sum`]);
    expect(stdout.split(' ')[0]).toBe(warmCache.diffId);
  });

  it('is read by gzip and GNU tar: owner 0/0, mtime 0, modes as given, long names intact', async () => {
    const archive = join(work, 'one.tar.gz');
    await run('gzip', ['-t', archive]);
    const { stdout } = await run('tar', ['--numeric-owner', '--full-time', '-tvzf', archive]);
    const lines = stdout.trim().split('\n');
    expect(lines.every((l) => / 0\/0 /.test(l) && l.includes('1970-01-01 00:00:00'))).toBe(true);
    expect(lines.find((l) => l.endsWith(' run'))).toMatch(/^-rwxr-xr-x /);
    expect(lines.find((l) => l.endsWith(' a/b.txt'))).toMatch(/^-rw-r--r-- /);
    expect(lines.find((l) => l.endsWith(' a/'))).toMatch(/^drwxr-xr-x /);
    expect(lines.some((l) => l.endsWith(` ${LONG}`))).toBe(true);
    // Entries sorted by path bytes, parents implied before children.
    const names = lines.map((l) => l.slice(l.lastIndexOf(' ') + 1));
    expect(names).toEqual([
      'a/',
      'a/b.txt',
      'big.bin',
      'deep/',
      ...names.slice(4, -3),
      LONG,
      'generated.json',
      'run',
    ]);

    const out = join(work, 'extracted');
    await mkdir(out);
    await run('tar', ['-xzf', archive, '-C', out]);
    expect((await readFile(join(out, 'big.bin'))).equals(bytes(BIG_FILE_BYTES + 123, 1))).toBe(true);
    expect(await readFile(join(out, LONG), 'utf8')).toBe('long\n');
  });

  it('is read back by tar-stream through Node gunzip (multi-member gzip)', async () => {
    const seen: Record<string, number> = {};
    await readTarGz(join(work, 'one.tar.gz'), async (entry) => {
      let size = 0;
      for await (const chunk of entry.stream) size += chunk.length;
      seen[entry.path] = size;
    });
    expect(seen['big.bin']).toBe(BIG_FILE_BYTES + 123);
    expect(seen['generated.json']).toBe(8);
  });
});

describe('FileTree', () => {
  it('refuses unsafe paths and duplicates', () => {
    const tree = new FileTree();
    for (const bad of ['../x', '/abs', 'a/../b', 'a//b', 'a\\b', './a', '']) {
      expect(() => tree.addBytes(bad, 'x'), bad).toThrow(/not a safe relative path/);
    }
    tree.addBytes('a', 'x');
    expect(() => tree.addBytes('a', 'y')).toThrow(/two entries/);
    tree.addBytes('b/c', 'x');
    expect(() => new FileTree().merge(tree, 'p')).not.toThrow();
  });
});
