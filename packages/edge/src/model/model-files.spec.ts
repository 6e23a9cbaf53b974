import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelportError } from '@modelport/core';

import { REPO_ROOT } from '../testing/fixtures.js';
import { collectModelFiles } from './model-files.js';
import { externalDataLocations } from './onnx-external-data.js';

const { onnx } = onnxProto;
const IRIS = join(REPO_ROOT, 'examples/iris/model.onnx');
let work: string;

/** A model whose initializer lives in an external file at `location` (as onnx.save(..., location=) writes). */
function modelWithExternalData(location: string): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        {
          opType: 'If',
          input: ['c'],
          output: ['y'],
          attribute: [
            {
              name: 'then_branch',
              type: onnx.AttributeProto.AttributeType.GRAPH,
              g: {
                name: 't',
                initializer: [
                  {
                    name: 'inner',
                    dataType: 1,
                    dims: [1],
                    dataLocation: 1,
                    externalData: [{ key: 'location', value: `nested-${location}` }],
                  },
                ],
              },
            },
          ],
        },
      ],
      initializer: [
        {
          name: 'w',
          dataType: 1,
          dims: [4],
          dataLocation: 1,
          externalData: [
            { key: 'location', value: location },
            { key: 'offset', value: '0' },
          ],
        },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-model-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function refusal(path: string): Promise<string> {
  const error = await collectModelFiles(path).catch((e: unknown) => e);
  expect(ModelportError.is(error)).toBe(true);
  return (error as Error).message;
}

describe('externalDataLocations', () => {
  it('finds locations in initializers and in subgraphs, and none in a plain model', async () => {
    expect(externalDataLocations(modelWithExternalData('w.bin'))).toEqual(['nested-w.bin', 'w.bin']);
    const { readFile } = await import('node:fs/promises');
    expect(externalDataLocations(await readFile(IRIS))).toEqual([]);
    expect(() => externalDataLocations(Buffer.from([0x0f, 0x01]))).toThrow(/wire type/);
  });
});

describe('collectModelFiles', () => {
  it('takes an .onnx file alone, and a folder with its files', async () => {
    const single = await collectModelFiles(IRIS);
    expect(single.main).toBe('model.onnx');
    expect(single.files.map((f) => f.relative)).toEqual(['model.onnx']);

    const folder = join(work, 'folder');
    await mkdir(join(folder, 'extra'), { recursive: true });
    await copyFile(IRIS, join(folder, 'iris.onnx'));
    await writeFile(join(folder, 'extra/labels.txt'), 'setosa\n');
    const collected = await collectModelFiles(folder);
    expect(collected.main).toBe('iris.onnx');
    expect(collected.files.map((f) => f.relative)).toEqual(['extra/labels.txt', 'iris.onnx']);
  });

  it('ships external data next to the model and refuses data outside its folder', async () => {
    const inside = join(work, 'external-ok');
    await mkdir(inside);
    await writeFile(join(inside, 'm.onnx'), modelWithExternalData('w.bin'));
    await writeFile(join(inside, 'w.bin'), Buffer.alloc(16));
    await writeFile(join(inside, 'nested-w.bin'), Buffer.alloc(4));
    await writeFile(join(inside, 'unrelated.txt'), 'not shipped with a file model');
    const files = await collectModelFiles(join(inside, 'm.onnx'));
    expect(files.files.map((f) => f.relative)).toEqual(['m.onnx', 'nested-w.bin', 'w.bin']);

    const outside = join(work, 'external-escape', 'model');
    await mkdir(outside, { recursive: true });
    await writeFile(join(work, 'external-escape', 'secret.bin'), 'secret');
    await writeFile(join(outside, 'm.onnx'), modelWithExternalData('../secret.bin'));
    expect(await refusal(join(outside, 'm.onnx'))).toMatch(
      /external data outside its folder: "\.\.\/secret\.bin"/,
    );
    await writeFile(join(outside, 'abs.onnx'), modelWithExternalData('/etc/passwd'));
    expect(await refusal(join(outside, 'abs.onnx'))).toMatch(/outside its folder: "\/etc\/passwd"/);
  });

  it('refuses symlinks: the model itself, one inside its folder, or external data', async () => {
    const dir = join(work, 'links');
    await mkdir(dir);
    await symlink(IRIS, join(dir, 'linked.onnx'));
    expect(await refusal(join(dir, 'linked.onnx'))).toMatch(/is a symlink/);

    const folder = join(work, 'folder-with-link');
    await mkdir(folder);
    await copyFile(IRIS, join(folder, 'm.onnx'));
    await symlink('/etc/passwd', join(folder, 'passwd'));
    expect(await refusal(folder)).toMatch(/holds a symlink, passwd/);

    const external = join(work, 'external-link');
    await mkdir(external);
    await writeFile(join(external, 'm.onnx'), modelWithExternalData('w.bin'));
    await writeFile(join(external, 'nested-w.bin'), Buffer.alloc(4));
    await symlink('/etc/hostname', join(external, 'w.bin'));
    expect(await refusal(join(external, 'm.onnx'))).toMatch(/not a regular file \(symlink\?\)/);
  });

  it('says what is wrong with a missing model, a folder without one .onnx, or a file that is not ONNX', async () => {
    expect(await refusal(join(work, 'nope.onnx'))).toMatch(/does not exist/);
    const empty = join(work, 'empty');
    await mkdir(empty);
    expect(await refusal(empty)).toMatch(/has no \.onnx files/);
    await writeFile(join(work, 'bad.onnx'), Buffer.from([0x0f, 0x00, 0x01]));
    expect(await refusal(join(work, 'bad.onnx'))).toMatch(/is not an ONNX model/);
  });
});
