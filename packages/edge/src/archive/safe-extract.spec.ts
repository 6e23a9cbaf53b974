import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { gzipSync } from 'fflate';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelportError } from '@modelport/core';

import { extractBundle } from './safe-extract.js';

let work: string;

type Entry = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string;
  linkname?: string;
  mode?: number;
};

/** A .tar.gz with exactly these entries, as an attacker would craft it. */
async function craft(file: string, entries: Entry[]): Promise<string> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of archive) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) {
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      mode: e.mode ?? 0o644,
      ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
    };
    if (header.type === 'file') archive.entry(header, e.content ?? 'x');
    else archive.entry(header);
  }
  archive.finalize();
  await collected;
  const path = join(work, file);
  await writeFile(path, gzipSync(Buffer.concat(chunks)));
  return path;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-extract-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('extractBundle', () => {
  it('extracts files and folders with their permission bits', async () => {
    const archive = await craft('good.tar.gz', [
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/node', content: '#!/bin/sh\n', mode: 0o755 },
      { name: './model/model.onnx', content: 'onnx' },
    ]);
    const target = join(work, 'good');
    expect(await extractBundle(archive, target)).toEqual({ files: 2, bytes: 14 });
    expect((await stat(join(target, 'bin/node'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(target, 'model/model.onnx'), 'utf8')).toBe('onnx');
  });

  const escapes: [string, Entry[]][] = [
    ['a parent path', [{ name: '../escaped.txt' }]],
    ['a parent path in the middle', [{ name: 'a/../../escaped.txt' }]],
    ['an absolute path', [{ name: `${'/tmp'}/modelport-absolute-escape.txt` }]],
    [
      'a symlink then a write through it',
      [{ name: 'link', type: 'symlink', linkname: '..' }, { name: 'link/escaped.txt' }],
    ],
    ['a hard link', [{ name: 'hard', type: 'link', linkname: '/etc/passwd' }]],
  ];
  for (const [what, entries] of escapes) {
    it(`refuses ${what}, writing nothing outside the target`, async () => {
      const name = what.replace(/\W+/g, '-');
      const archive = await craft(`${name}.tar.gz`, entries);
      const target = join(work, 'targets', name);
      const error = await extractBundle(archive, target).catch((e: unknown) => e);
      expect(ModelportError.is(error, 'invalidInput')).toBe(true);
      expect((error as Error).message).toMatch(/refusing archive entry/);
      expect((await readdir(join(work, 'targets'))).includes('escaped.txt')).toBe(false);
      expect(await readdir(work)).not.toContain('escaped.txt');
      await expect(stat('/tmp/modelport-absolute-escape.txt')).rejects.toThrow();
    });
  }

  it('refuses a target folder that is not empty', async () => {
    const archive = await craft('small.tar.gz', [{ name: 'a.txt' }]);
    const target = join(work, 'busy');
    await extractBundle(archive, target);
    await expect(extractBundle(archive, target)).rejects.toThrow(/not empty/);
  });
});
