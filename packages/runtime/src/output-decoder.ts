import type * as ort from 'onnxruntime-node';

import { codecFor, type ElementCodec, type TensorStore } from './element-codecs.js';
import type { TensorSpec } from './signature.js';

type JsonScalar = number | boolean | string;
export type JsonTensor = JsonScalar | JsonTensor[];

/** The block of `dims` starting at `offset`, as nested JSON arrays (a scalar when `dims` is empty). */
export function nestedValue(
  codec: ElementCodec,
  data: TensorStore,
  offset: number,
  dims: readonly number[],
  level = 0,
): JsonTensor {
  if (level === dims.length) return codec.read(data, offset);
  const length = dims[level] as number;
  const out = new Array<JsonTensor>(length);
  if (level === dims.length - 1) {
    for (let i = 0; i < length; i++) out[i] = codec.read(data, offset + i);
    return out;
  }
  let stride = 1;
  for (let k = level + 1; k < dims.length; k++) stride *= dims[k] as number;
  for (let i = 0; i < length; i++) out[i] = nestedValue(codec, data, offset + i * stride, dims, level + 1);
  return out;
}

/** All elements of a tensor in row-major order, as JSON values. */
export function flatValues(codec: ElementCodec, data: TensorStore): JsonScalar[] {
  const out = new Array<JsonScalar>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = codec.read(data, i);
  return out;
}

/**
 * Splits the outputs of one batched run into one prediction per instance: the output's row, or an
 * object keyed by output name when the model has several outputs. An output without the batch
 * dimension (a constant, say) is given whole to every instance.
 */
export function decodePredictions(
  results: ort.InferenceSession.ReturnType,
  outputs: readonly TensorSpec[],
  total: number,
  batched: boolean,
  start = 0,
  count = total,
): unknown[] {
  const columns = outputs.map((spec) => outputRows(results, spec, total, batched, start, count));
  if (columns.length === 1) return columns[0] as JsonTensor[];
  const predictions = new Array<Record<string, JsonTensor>>(count);
  for (let i = 0; i < count; i++) {
    const prediction: Record<string, JsonTensor> = {};
    for (let o = 0; o < outputs.length; o++) {
      prediction[(outputs[o] as TensorSpec).name] = (columns[o] as JsonTensor[])[i] as JsonTensor;
    }
    predictions[i] = prediction;
  }
  return predictions;
}

/** Rows `[start, start + count)` of one output of a run over `total` rows. */
function outputRows(
  results: ort.InferenceSession.ReturnType,
  spec: TensorSpec,
  total: number,
  batched: boolean,
  start: number,
  count: number,
): JsonTensor[] {
  const tensor = results[spec.name];
  if (tensor === undefined) throw new Error(`the model did not return output "${spec.name}"`);
  const codec = codecFor(tensor.type as TensorSpec['dtype']);
  const data = tensor.data as TensorStore;
  const dims = tensor.dims;
  const rows = new Array<JsonTensor>(count);
  if (!batched || dims[0] !== total || dims.length === 0) {
    const whole = nestedValue(codec, data, 0, dims);
    for (let i = 0; i < count; i++) rows[i] = whole;
    return rows;
  }
  const rowDims = dims.slice(1);
  const rowSize = total === 0 ? 0 : data.length / total;
  if (rowDims.length === 0) {
    for (let i = 0; i < count; i++) rows[i] = codec.read(data, start + i);
  } else {
    for (let i = 0; i < count; i++) rows[i] = nestedValue(codec, data, (start + i) * rowSize, rowDims);
  }
  return rows;
}
