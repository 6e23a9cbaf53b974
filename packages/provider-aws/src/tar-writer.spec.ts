import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractTarGz } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTarGz } from './tar-writer.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelport-tar-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeTarGz', () => {
  it('writes a model.tar.gz that unpacks to the same files, and the same bytes every time', async () => {
    const model = join(dir, 'model.onnx');
    await writeFile(model, Buffer.alloc(1300, 7));
    const entries = [
      { name: 'model.onnx', source: { path: model } },
      { name: 'signature.json', source: { data: Buffer.from('{"inputs":[]}') } },
    ];
    await writeTarGz(join(dir, 'a.tar.gz'), entries);
    await writeTarGz(join(dir, 'b.tar.gz'), entries);
    expect(await readFile(join(dir, 'a.tar.gz'))).toEqual(await readFile(join(dir, 'b.tar.gz')));
    const out = join(dir, 'out');
    expect(await extractTarGz(join(dir, 'a.tar.gz'), out)).toEqual(['model.onnx', 'signature.json']);
    expect(await readFile(join(out, 'model.onnx'))).toEqual(Buffer.alloc(1300, 7));
    expect(await readFile(join(out, 'signature.json'), 'utf8')).toBe('{"inputs":[]}');
  });
});
