import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { checkOutputTarget, writeOutputFile } from './write-file.js';

const dir = mkdtempSync(join(tmpdir(), 'modelport-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe('writeOutputFile', () => {
  it('creates a missing file (and its folder) and replaces a regular file whole, keeping its mode', async () => {
    const path = join(dir, 'sub', 'out.yaml');
    await writeOutputFile(path, 'one\n');
    expect(readFileSync(path, 'utf8')).toBe('one\n');
    execFileSync('chmod', ['640', path]);
    await writeOutputFile(path, 'two\n');
    expect(readFileSync(path, 'utf8')).toBe('two\n');
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  it('writes through /dev/null and leaves it a character device', async () => {
    await writeOutputFile('/dev/null', 'discarded\n');
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('writes - and /dev/stdout to the process stdout, replacing nothing', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(((
      _chunk: unknown,
      callback?: (error?: Error | null) => void,
    ) => {
      callback?.();
      return true;
    }) as typeof process.stdout.write);
    await writeOutputFile('-', 'to stdout\n');
    await writeOutputFile('/dev/stdout', 'also\n');
    expect(write.mock.calls.map((c) => c[0])).toEqual(['to stdout\n', 'also\n']);
  });

  it('refuses a symbolic link, naming it and its target, and leaves both untouched', async () => {
    const target = join(dir, 'real.yaml');
    writeFileSync(target, 'original\n');
    const link = join(dir, 'link.yaml');
    symlinkSync(target, link);
    await expect(writeOutputFile(link, 'new\n', { option: '-o' })).rejects.toMatchObject({
      kind: 'invalidInput',
      message: expect.stringMatching(
        new RegExp(`refusing to write ${link}: it is a symbolic link to ${target} \\(a regular file\\)`),
      ),
      hint: expect.stringMatching(/another path to -o/),
    });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe('original\n');
  });

  it('refuses a FIFO and a folder before anything is written', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await expect(checkOutputTarget(fifo)).rejects.toThrow(/it is a FIFO \(named pipe\), not a regular file/);
    await expect(writeOutputFile(fifo, 'x')).rejects.toThrow(/refusing to write/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    await expect(writeOutputFile(folder, 'x')).rejects.toThrow(/it is a folder/);
    expect(lstatSync(folder).isDirectory()).toBe(true);
  });
});
