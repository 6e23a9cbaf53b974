// Which model the image loads: the platform's (arguments, AZUREML_MODEL_DIR, AIP_STORAGE_URI), and only
// without any of them the bundled one; a signature.json beside the chosen file comes with it.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../testing/fixtures.js';
import type { BundleManifest } from './bundle-format.js';
import { onnxFileIn, resolveModel } from './model-source.js';
import { parseRunOptions } from './run-options.js';

const IRIS = join(REPO_ROOT, 'examples/iris/model.onnx');
const SIGNATURE = { inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }] };
const manifest = {
  serve: { model: 'model/model.onnx', name: 'iris', signature: { bundled: true } },
} as unknown as BundleManifest;
let work: string;

async function tree(root: string, files: Record<string, string>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    if (content === 'onnx') await copyFile(IRIS, join(root, path));
    else await writeFile(join(root, path), content);
  }
  return root;
}

function choose(argv: string[], env: NodeJS.ProcessEnv) {
  return resolveModel(parseRunOptions(argv, env), {
    bundleDir: '/bundle',
    manifest,
    env,
    tmpDir: work,
    loadS3: () => import('./s3-storage.js'),
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-model-source-'));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('resolveModel', () => {
  it('takes a folder (extracted model.tar.gz, KServe storage) and the signature.json beside its .onnx', async () => {
    const dir = await tree(join(work, 'opt-ml-model'), {
      'code/inference.txt': 'x',
      'model/iris.onnx': 'onnx',
      'model/signature.json': JSON.stringify(SIGNATURE),
    });
    expect(await choose([], { MODELPORT_MODEL: dir })).toEqual({
      source: 'MODELPORT_MODEL',
      path: join(dir, 'model/iris.onnx'),
      signature: SIGNATURE,
      signaturePath: join(dir, 'model/signature.json'),
    });
    // The argument wins over the variable; a signature at the top of the folder counts too.
    const top = await tree(join(work, 'mnt-models'), {
      'v1/model.onnx': 'onnx',
      'signature.json': JSON.stringify(SIGNATURE),
    });
    expect(await choose(['--model', top], { MODELPORT_MODEL: dir })).toMatchObject({
      source: '--model',
      path: join(top, 'v1/model.onnx'),
      signature: SIGNATURE,
    });
  });

  it("uses AZUREML_MODEL_DIR (Azure ML's mount): the .onnx up to two folders down, not the bundled model", async () => {
    const dir = await tree(join(work, 'azureml-models/iris/3'), {
      'iris-folder/onnx/model.onnx': 'onnx',
      'iris-folder/onnx/signature.json': JSON.stringify(SIGNATURE),
    });
    expect(await choose([], { AZUREML_MODEL_DIR: dir })).toMatchObject({
      source: 'AZUREML_MODEL_DIR',
      path: join(dir, 'iris-folder/onnx/model.onnx'),
      signature: SIGNATURE,
    });
    // A relative MODELPORT_MODEL names a file inside the mount (no guess of the mount path needed).
    expect(await choose([], { AZUREML_MODEL_DIR: dir, MODELPORT_MODEL: 'iris-folder/onnx' })).toMatchObject({
      source: 'MODELPORT_MODEL',
      path: join(dir, 'iris-folder/onnx/model.onnx'),
      signature: SIGNATURE,
    });
    // MODELPORT_MODEL comes first.
    const file = join(work, 'azureml-models/iris/3/iris-folder/onnx/model.onnx');
    expect(await choose([], { AZUREML_MODEL_DIR: dir, MODELPORT_MODEL: file })).toMatchObject({
      source: 'MODELPORT_MODEL',
      path: file,
    });
  });

  it('refuses a folder with no or several .onnx files, naming them; and a path that does not exist', async () => {
    const none = await tree(join(work, 'none'), { 'a/readme.txt': 'x' });
    await expect(choose([], { MODELPORT_MODEL: none })).rejects.toThrow(
      /MODELPORT_MODEL .*none: no \.onnx file in the folder or up to 1 folder down \(it holds: a\)/,
    );
    const two = await tree(join(work, 'two'), { 'a/x.onnx': 'onnx', 'b/y.onnx': 'onnx' });
    await expect(choose([], { AZUREML_MODEL_DIR: two })).rejects.toThrow(
      /expected one \.onnx file, found 2: .*a\/x\.onnx, .*b\/y\.onnx/,
    );
    await expect(choose([], { MODELPORT_MODEL: join(work, 'missing.onnx') })).rejects.toThrow(
      /no such file or folder/,
    );
    await expect(choose([], { MODELPORT_MODEL: 'gs://b/m.onnx' })).rejects.toThrow(/only local paths and s3/);
  });

  it('falls back to the bundled model (with the bundle signature) only when nothing names another', async () => {
    expect(await choose([], {})).toEqual({
      source: 'bundled',
      path: join('/bundle', 'model/model.onnx'),
      signature: { bundled: true },
    });
    expect(await onnxFileIn(IRIS, 'x')).toBe(IRIS);
  });
});
