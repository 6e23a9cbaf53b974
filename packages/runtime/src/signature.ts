/** Element types a model input or output can have (the onnxruntime names). */
export type Dtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

export interface TensorSpec {
  name: string;
  dtype: Dtype;
  /** Dimensions; -1 marks a variable one (the batch dimension first). Absent when the model does not say. */
  shape?: number[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs?: TensorSpec[];
}

/** Open Inference Protocol v2 datatype names, by dtype. */
export const V2_DATATYPES: Readonly<Record<Dtype, string>> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

export const DTYPES = Object.keys(V2_DATATYPES) as Dtype[];

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.hasOwn(V2_DATATYPES, value);
}

export function formatShape(shape: readonly number[] | undefined): string {
  return shape === undefined ? '[unknown]' : `[${shape.join(',')}]`;
}

/** Metadata of one model value as onnxruntime reports it (`session.inputMetadata`). */
export interface RuntimeValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: ReadonlyArray<number | string>;
}

/**
 * Turns onnxruntime's metadata into tensor specs. Symbolic dimensions become -1. An empty shape means
 * "not declared" to onnxruntime, so it is left out rather than read as a scalar.
 * Non-tensor values (sequences, maps) are skipped: onnxruntime-node cannot return them.
 */
export function specsFromMetadata(metadata: readonly RuntimeValueMetadata[]): TensorSpec[] {
  const specs: TensorSpec[] = [];
  for (const m of metadata) {
    if (!m.isTensor) continue;
    if (!isDtype(m.type))
      throw new Error(`value "${m.name}" has dtype ${String(m.type)}, which is not supported`);
    const spec: TensorSpec = { name: m.name, dtype: m.type };
    if (m.shape !== undefined && m.shape.length > 0) {
      spec.shape = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    }
    specs.push(spec);
  }
  return specs;
}

/** Checks a declared signature: well-formed, and (when metadata is given) consistent with the model. */
export function checkSignature(
  signature: ModelSignature,
  inputs?: readonly TensorSpec[],
  outputs?: readonly TensorSpec[],
): void {
  const check = (
    declared: readonly TensorSpec[] | undefined,
    actual: readonly TensorSpec[] | undefined,
    kind: string,
  ) => {
    if (declared === undefined) return;
    if (!Array.isArray(declared)) throw new Error(`signature.${kind} must be an array`);
    const seen = new Set<string>();
    declared.forEach((spec, i) => {
      if (typeof spec?.name !== 'string' || spec.name === '')
        throw new Error(`signature.${kind}[${i}].name must be a non-empty string`);
      if (seen.has(spec.name)) throw new Error(`signature.${kind} names "${spec.name}" twice`);
      seen.add(spec.name);
      if (!isDtype(spec.dtype)) {
        throw new Error(
          `signature.${kind}[${i}].dtype must be one of ${DTYPES.join(', ')}; got ${JSON.stringify(spec.dtype)}`,
        );
      }
      const shape: unknown = spec.shape;
      if (shape !== undefined) {
        if (
          !Array.isArray(shape) ||
          !shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= -1)
        ) {
          throw new Error(`signature.${kind}[${i}].shape must be an array of integers >= -1 (-1 = variable)`);
        }
      }
      if (actual === undefined) return;
      const real = actual.find((a) => a.name === spec.name);
      if (real === undefined) {
        throw new Error(
          `signature names ${kind.slice(0, -1)} "${spec.name}", which the model does not have (it has ${quoteList(actual.map((a) => a.name))})`,
        );
      }
      if (real.dtype !== spec.dtype) {
        throw new Error(
          `signature says ${kind.slice(0, -1)} "${spec.name}" is ${spec.dtype}, the model says ${real.dtype}`,
        );
      }
      if (spec.shape !== undefined && real.shape !== undefined) {
        const compatible =
          spec.shape.length === real.shape.length &&
          spec.shape.every(
            (d: number, k: number) => d === -1 || real.shape?.[k] === -1 || real.shape?.[k] === d,
          );
        if (!compatible) {
          throw new Error(
            `signature shape ${formatShape(spec.shape)} of ${kind.slice(0, -1)} "${spec.name}" does not fit the model's ${formatShape(real.shape)}`,
          );
        }
      }
    });
  };
  if (signature === null || typeof signature !== 'object') throw new Error('signature must be an object');
  if (!Array.isArray(signature.inputs) || signature.inputs.length === 0) {
    throw new Error('signature.inputs must be a non-empty array');
  }
  check(signature.inputs, inputs, 'inputs');
  check(signature.outputs, outputs, 'outputs');
  if (inputs !== undefined && signature.inputs.length !== inputs.length) {
    const missing = inputs.filter((a) => !signature.inputs.some((s) => s.name === a.name)).map((a) => a.name);
    throw new Error(
      `signature leaves out model input(s) ${quoteList(missing)}; every input must be declared`,
    );
  }
}

export function quoteList(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}
