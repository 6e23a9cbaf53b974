import './ort-env.js';
import * as ort from 'onnxruntime-node';

import { codecFor, describeValue } from './element-codecs.js';
import { RequestError } from './errors.js';
import { flatValues } from './output-decoder.js';
import { formatShape, quoteList, V2_DATATYPES, type TensorSpec } from './signature.js';
import type { TensorStore } from './element-codecs.js';

/** One tensor of the Open Inference Protocol (KServe v2): `data` flattened row-major. */
export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

export interface V2InferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: V2Tensor[];
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
}

export interface V2InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: V2Tensor[];
}

export interface V2TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface V2ModelMetadata {
  name: string;
  versions: string[];
  platform: 'onnxruntime_onnx';
  inputs: V2TensorMetadata[];
  outputs: V2TensorMetadata[];
}

export function v2TensorMetadata(spec: TensorSpec): V2TensorMetadata {
  return { name: spec.name, datatype: V2_DATATYPES[spec.dtype], shape: spec.shape ?? [] };
}

export interface ParsedV2Request {
  feeds: Record<string, ort.Tensor>;
  outputs: TensorSpec[];
  id?: string;
}

/** Validates a v2 infer request against the model's inputs and turns it into onnxruntime feeds. */
export function parseV2Request(
  body: unknown,
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
): ParsedV2Request {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError(`expected an object {"inputs": [...]}, got ${describeValue(body)}`);
  }
  const request = body as Partial<Record<keyof V2InferRequest, unknown>>;
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) {
    throw new RequestError('"inputs" must be a non-empty array of {"name","shape","datatype","data"}');
  }
  const feeds: Record<string, ort.Tensor> = {};
  request.inputs.forEach((tensor: unknown, i) => {
    const where = `inputs[${i}]`;
    if (typeof tensor !== 'object' || tensor === null) throw new RequestError(`${where} must be an object`);
    const { name, shape, datatype, data } = tensor as Partial<Record<keyof V2Tensor, unknown>>;
    if (typeof name !== 'string') throw new RequestError(`${where}.name must be a string`);
    const spec = inputs.find((s) => s.name === name);
    if (spec === undefined) {
      throw new RequestError(
        `${where}: unknown input ${JSON.stringify(name)}; the model's inputs are ${quoteList(inputs.map((s) => s.name))}`,
      );
    }
    if (Object.hasOwn(feeds, name))
      throw new RequestError(`${where}: input ${JSON.stringify(name)} is given twice`);
    const expectedType = V2_DATATYPES[spec.dtype];
    if (datatype !== expectedType) {
      throw new RequestError(
        `${where}: input ${JSON.stringify(name)} has datatype ${expectedType}, the request says ${JSON.stringify(datatype)}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RequestError(`${where}.shape must be an array of non-negative integers`);
    }
    const dims = shape as number[];
    if (spec.shape !== undefined) {
      const declared = spec.shape;
      if (dims.length !== declared.length || declared.some((d, k) => d !== -1 && d !== dims[k])) {
        throw new RequestError(
          `${where}: shape ${formatShape(dims)} does not fit input ${JSON.stringify(name)} (shape ${formatShape(declared)})`,
        );
      }
    }
    if (!Array.isArray(data)) throw new RequestError(`${where}.data must be an array`);
    const flat = data.some(Array.isArray) ? (data.flat(Infinity) as unknown[]) : data;
    const size = dims.reduce((a, b) => a * b, 1);
    if (flat.length !== size) {
      throw new RequestError(
        `${where}: shape ${formatShape(dims)} needs ${size} values, "data" has ${flat.length}`,
      );
    }
    const codec = codecFor(spec.dtype);
    const store = codec.allocate(size);
    for (let k = 0; k < size; k++) {
      if (!codec.write(store, k, flat[k])) {
        throw new RequestError(
          `${where}: input ${JSON.stringify(name)} expects ${codec.expected}, got ${describeValue(flat[k])} at data[${k}]`,
        );
      }
    }
    feeds[name] = new ort.Tensor(spec.dtype as 'float32', store as Float32Array, dims);
  });
  const missing = inputs.filter((s) => !Object.hasOwn(feeds, s.name));
  if (missing.length > 0) throw new RequestError(`missing input(s) ${quoteList(missing.map((s) => s.name))}`);

  let wanted: TensorSpec[] = [...outputs];
  if (request.outputs !== undefined) {
    if (!Array.isArray(request.outputs)) throw new RequestError('"outputs" must be an array of {"name"}');
    wanted = request.outputs.map((o: unknown, i) => {
      const name = (o as { name?: unknown } | null)?.name;
      const spec = outputs.find((s) => s.name === name);
      if (spec === undefined) {
        throw new RequestError(
          `outputs[${i}]: unknown output ${JSON.stringify(name)}; the model's outputs are ${quoteList(outputs.map((s) => s.name))}`,
        );
      }
      return spec;
    });
  }
  const parsed: ParsedV2Request = { feeds, outputs: wanted };
  if (typeof request.id === 'string') parsed.id = request.id;
  return parsed;
}

export function v2Outputs(
  results: ort.InferenceSession.ReturnType,
  outputs: readonly TensorSpec[],
): V2Tensor[] {
  return outputs.map((spec) => {
    const tensor = results[spec.name];
    if (tensor === undefined) throw new Error(`the model did not return output "${spec.name}"`);
    const dtype = tensor.type as TensorSpec['dtype'];
    return {
      name: spec.name,
      shape: [...tensor.dims],
      datatype: V2_DATATYPES[dtype],
      data: flatValues(codecFor(dtype), tensor.data as TensorStore),
    };
  });
}
