// Small ONNX models built in the tests, with known weights, so expected outputs can be computed in JS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const INT = onnx.AttributeProto.AttributeType.INT;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function writeModel(path: string, graph: OnnxTypes.IGraphProto): string {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'modelport-runtime-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return path;
}

/** Weights of the classifier: logits = input · W + B. Chosen so that no two logits tie. */
export const CLASSIFIER_W = [
  [0.5, -0.25, 0.1],
  [-0.3, 0.8, 0.05],
  [0.7, 0.2, -0.6],
  [0.1, -0.4, 0.9],
];
export const CLASSIFIER_B = [0.1, -0.2, 0.05];

/** `input` float32 [N,4] → `probabilities` float32 [N,3] (softmax), `label` int64 [N] (argmax). */
export function writeClassifierModel(dir: string, file = 'classifier.onnx'): string {
  return writeModel(join(dir, file), {
    name: 'classifier',
    node: [
      { opType: 'Gemm', input: ['input', 'W', 'B'], output: ['logits'] },
      {
        opType: 'Softmax',
        input: ['logits'],
        output: ['probabilities'],
        attribute: [{ name: 'axis', type: INT, i: 1 }],
      },
      {
        opType: 'ArgMax',
        input: ['logits'],
        output: ['label'],
        attribute: [
          { name: 'axis', type: INT, i: 1 },
          { name: 'keepdims', type: INT, i: 0 },
        ],
      },
    ],
    initializer: [
      { name: 'W', dataType: T.FLOAT, dims: [4, 3], floatData: CLASSIFIER_W.flat() },
      { name: 'B', dataType: T.FLOAT, dims: [3], floatData: CLASSIFIER_B },
    ],
    input: [valueInfo('input', T.FLOAT, ['N', 4])],
    output: [valueInfo('probabilities', T.FLOAT, ['N', 3]), valueInfo('label', T.INT64, ['N'])],
  });
}

/** The classifier computed in plain JS (float64; compare probabilities with a tolerance). */
export function classify(row: readonly number[]): { probabilities: number[]; label: number } {
  const f = (v: number) => Math.fround(v);
  const logits = CLASSIFIER_B.map((b, j) =>
    row.reduce((sum, x, i) => sum + f(x) * (CLASSIFIER_W[i]?.[j] ?? 0), b),
  );
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return { probabilities: exps.map((e) => e / total), label: logits.indexOf(max) };
}

/**
 * Two inputs, one of them int64: `x` float32 [N,2], `k` int64 [N,1] →
 * `y` float32 [N,2] = x * k, `k_plus_one` int64 [N,1] = k + 1.
 */
export function writeMultiInputModel(dir: string, file = 'multi.onnx'): string {
  return writeModel(join(dir, file), {
    name: 'multi',
    node: [
      { opType: 'Cast', input: ['k'], output: ['kf'], attribute: [{ name: 'to', type: INT, i: T.FLOAT }] },
      { opType: 'Mul', input: ['x', 'kf'], output: ['y'] },
      { opType: 'Add', input: ['k', 'one'], output: ['k_plus_one'] },
    ],
    initializer: [{ name: 'one', dataType: T.INT64, dims: [1], int64Data: [1] }],
    input: [valueInfo('x', T.FLOAT, ['N', 2]), valueInfo('k', T.INT64, ['N', 1])],
    output: [valueInfo('y', T.FLOAT, ['N', 2]), valueInfo('k_plus_one', T.INT64, ['N', 1])],
  });
}

/** `x` float32 [N,M] → `y` = x (variable row length, for ragged-row checks). */
export function writeIdentityModel(dir: string, file = 'identity.onnx'): string {
  return writeModel(join(dir, file), {
    name: 'identity',
    node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
    input: [valueInfo('x', T.FLOAT, ['N', 'M'])],
    output: [valueInfo('y', T.FLOAT, ['N', 'M'])],
  });
}

/** No batch dimension: `x` float32 [2,3] → `y` = relu(x) [2,3]; each instance is a whole tensor. */
export function writeFixedShapeModel(dir: string, file = 'fixed.onnx'): string {
  return writeModel(join(dir, file), {
    name: 'fixed',
    node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
    input: [valueInfo('x', T.FLOAT, [2, 3])],
    output: [valueInfo('y', T.FLOAT, [2, 3])],
  });
}

/** `x` float32 [N,M] → `sum` float32 [N] (the sum of each row): wide rows, tiny predictions. */
export function writeRowSumModel(dir: string, file = 'row-sum.onnx'): string {
  return writeModel(join(dir, file), {
    name: 'row-sum',
    node: [
      {
        opType: 'ReduceSum',
        input: ['x', 'axes'],
        output: ['sum'],
        attribute: [{ name: 'keepdims', type: INT, i: 0 }],
      },
    ],
    initializer: [{ name: 'axes', dataType: T.INT64, dims: [1], int64Data: [1] }],
    input: [valueInfo('x', T.FLOAT, ['N', 'M'])],
    output: [valueInfo('sum', T.FLOAT, ['N'])],
  });
}
