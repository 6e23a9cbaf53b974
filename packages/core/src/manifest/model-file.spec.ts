import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkModelFile, localModelPathOf, onnxInputs, onnxStructureProblem } from './model-file.js';

const iris = fileURLToPath(new URL('../../../../examples/iris/model.onnx', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'modelport-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('onnxStructureProblem', () => {
  it('accepts a real ONNX model', () => {
    expect(onnxStructureProblem(iris)).toBeUndefined();
  });

  it('refuses an empty file, text, a truncated model and a model with no graph', () => {
    const model = readFileSync(iris);
    expect(onnxStructureProblem(file('empty.onnx', ''))).toBe('the file is empty');
    expect(onnxStructureProblem(file('text.onnx', 'hello'))).toMatch(/not protobuf/);
    expect(onnxStructureProblem(file('cut.onnx', model.subarray(0, model.length - 10)))).toMatch(
      /the file ends at byte \d+, inside a field/,
    );
    // ir_version 8 and nothing else: protobuf, but no graph.
    expect(onnxStructureProblem(file('nograph.onnx', Uint8Array.from([0x08, 0x08])))).toBe('it has no graph');
  });

  it('refuses random bytes', () => {
    let seed = 7;
    const random = Uint8Array.from({ length: 4096 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 256;
    });
    expect(onnxStructureProblem(file('random.onnx', random))).toBeDefined();
  });
});

describe('onnxInputs', () => {
  it('reads the inputs of a model without loading it, and nothing from what is not one', () => {
    expect(onnxInputs(iris)).toEqual([{ name: 'input', dtype: 'float32', shape: [-1, 4] }]);
    expect(onnxInputs(file('not-a-model.onnx', 'hello'))).toBeUndefined();
    expect(onnxInputs(join(dir, 'absent.onnx'))).toBeUndefined();
  });
});

describe('checkModelFile', () => {
  it('checks local paths only', () => {
    for (const uri of ['s3://b/m.onnx', 'gs://b/m.onnx', 'azureml://x', 'https://h/m.onnx']) {
      expect(localModelPathOf(uri, dir)).toBeUndefined();
      expect(checkModelFile({ format: 'onnx', uri }, dir)).toBeUndefined();
    }
    expect(localModelPathOf('file:///models/m.onnx', dir)).toBe('/models/m.onnx');
    expect(localModelPathOf('m.onnx', '/work')).toBe('/work/m.onnx');
  });

  it('refuses a missing file at spec.model.uri, and checks content only when asked', () => {
    expect(checkModelFile({ format: 'onnx', uri: './nope.onnx' }, dir)).toMatchObject({
      code: 'file.modelMissing',
      path: ['spec', 'model', 'uri'],
      message: `the model file ${dir}/nope.onnx does not exist (spec.model.uri is resolved against the manifest's folder, ${dir})`,
    });
    file('bad.onnx', 'hello');
    expect(checkModelFile({ format: 'onnx', uri: './bad.onnx' }, dir)).toBeUndefined();
    expect(checkModelFile({ format: 'onnx', uri: './bad.onnx' }, dir, { content: true })).toMatchObject({
      code: 'file.modelNotOnnx',
    });
  });
});
