import type * as ort from 'onnxruntime-node';

import { codecFor, type TensorStore } from './element-codecs.js';
import { fromFloat16Bits } from './float16.js';
import { nestedValue } from './output-decoder.js';
import type { Dtype, TensorSpec } from './signature.js';

type Cell = (row: number) => string;

/**
 * Prediction text built by string concatenation straight from the output tensors: about 3x faster than
 * JSON.stringify of decoded objects, and the same text (`decodePredictions` + JSON.stringify).
 * Rows `[start, start + count)` of a run over `total` rows; `lines` gives JSONL (one prediction per
 * line), otherwise a JSON array.
 */
export function formatPredictions(
  results: ort.InferenceSession.ReturnType,
  outputs: readonly TensorSpec[],
  total: number,
  batched: boolean,
  lines: boolean,
  start = 0,
  count = total,
): string {
  const cells = outputs.map((spec) => outputCell(results, spec, total, batched));
  const keys = outputs.map((spec, i) => `${i === 0 ? '{' : ','}${JSON.stringify(spec.name)}:`);
  const end = start + count;
  const after = lines ? '\n' : ',';
  let text = lines ? '' : '[';
  if (cells.length === 1) {
    const cell = cells[0] as Cell;
    for (let i = start; i < end; i++) text += cell(i) + after;
  } else {
    for (let i = start; i < end; i++) {
      for (let o = 0; o < cells.length; o++) text += (keys[o] as string) + (cells[o] as Cell)(i);
      text += '}' + after;
    }
  }
  if (lines) return text;
  return count === 0 ? '[]' : text.slice(0, -1) + ']';
}

/** One JSON line per prediction (the file runner's output). */
export function formatJsonlPredictions(
  results: ort.InferenceSession.ReturnType,
  outputs: readonly TensorSpec[],
  count: number,
  batched: boolean,
): string {
  return formatPredictions(results, outputs, count, batched, true);
}

function outputCell(
  results: ort.InferenceSession.ReturnType,
  spec: TensorSpec,
  count: number,
  batched: boolean,
): Cell {
  const tensor = results[spec.name];
  if (tensor === undefined) throw new Error(`the model did not return output "${spec.name}"`);
  const dtype = tensor.type as Dtype;
  const data = tensor.data as TensorStore;
  const dims = tensor.dims;
  if (!batched || dims.length === 0 || dims[0] !== count) {
    const whole = JSON.stringify(nestedValue(codecFor(dtype), data, 0, dims));
    return () => whole;
  }
  const scalar = scalarText(dtype, data);
  const rowDims = dims.slice(1);
  const rowSize = count === 0 ? 0 : data.length / count;
  if (rowDims.length === 0) return scalar;
  if (rowDims.length === 1) {
    return (row) => {
      const offset = row * rowSize;
      let text = '[';
      for (let j = 0; j < rowSize; j++) text += (j === 0 ? '' : ',') + scalar(offset + j);
      return text + ']';
    };
  }
  const codec = codecFor(dtype);
  return (row) => JSON.stringify(nestedValue(codec, data, row * rowSize, rowDims));
}

function scalarText(dtype: Dtype, data: TensorStore): Cell {
  switch (dtype) {
    case 'float32':
    case 'float64': {
      const values = data as Float32Array;
      return (k) => {
        const v = values[k] as number;
        return v - v === 0 ? '' + v : 'null'; // NaN and ±Infinity are null in JSON
      };
    }
    case 'float16': {
      const bits = data as Uint16Array;
      return (k) => {
        const v = fromFloat16Bits(bits[k] as number);
        return v - v === 0 ? '' + v : 'null';
      };
    }
    case 'int64':
    case 'uint64': {
      const values = data as BigInt64Array;
      return (k) => '' + Number(values[k]);
    }
    case 'bool': {
      const values = data as Uint8Array;
      return (k) => (values[k] !== 0 ? 'true' : 'false');
    }
    case 'string': {
      const values = data as string[];
      return (k) => JSON.stringify(values[k]);
    }
    default: {
      const values = data as Int32Array;
      return (k) => '' + values[k];
    }
  }
}
