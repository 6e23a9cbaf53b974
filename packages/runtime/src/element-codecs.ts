import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import type { Dtype } from './signature.js';

/** Backing store of one tensor: what onnxruntime-node takes for each dtype. */
export type TensorStore =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** Reads and writes the elements of one dtype: JSON values in, JSON values out. */
export interface ElementCodec {
  readonly dtype: Dtype;
  /** What a valid value looks like, for error messages ("float32 numbers"). */
  readonly expected: string;
  allocate(length: number): TensorStore;
  /** Stores `value` at `index`; false when the value does not fit the dtype (nothing is stored then). */
  write(store: TensorStore, index: number, value: unknown): boolean;
  /** The element at `index` as a JSON value (int64 as a number, bool as a boolean). */
  read(store: TensorStore, index: number): number | boolean | string;
}

type NumericArray = Exclude<TensorStore, string[] | BigInt64Array | BigUint64Array>;
type BigIntArray = BigInt64Array | BigUint64Array;

function floatCodec(dtype: 'float32' | 'float64', Ctor: new (n: number) => NumericArray): ElementCodec {
  return {
    dtype,
    expected: `${dtype} numbers`,
    allocate: (n) => new Ctor(n),
    write(store, index, value) {
      if (typeof value !== 'number') return false;
      (store as NumericArray)[index] = value;
      return true;
    },
    read: (store, index) => (store as NumericArray)[index] as number,
  };
}

function intCodec(
  dtype: Dtype,
  Ctor: new (n: number) => NumericArray,
  min: number,
  max: number,
): ElementCodec {
  return {
    dtype,
    expected: `${dtype} integers (${min}..${max})`,
    allocate: (n) => new Ctor(n),
    write(store, index, value) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return false;
      (store as NumericArray)[index] = value;
      return true;
    },
    read: (store, index) => (store as NumericArray)[index] as number,
  };
}

// Integers beyond 2^53 cannot travel as JSON numbers without loss, so decimal strings are accepted too.
const INTEGER_STRING = /^-?\d{1,20}$/;

function bigIntCodec(dtype: 'int64' | 'uint64', Ctor: new (n: number) => BigIntArray): ElementCodec {
  const min = dtype === 'int64' ? -(2n ** 63n) : 0n;
  const max = dtype === 'int64' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  return {
    dtype,
    expected: `${dtype} integers`,
    allocate: (n) => new Ctor(n),
    write(store, index, value) {
      let big: bigint;
      if (typeof value === 'number') {
        if (!Number.isSafeInteger(value)) return false;
        big = BigInt(value);
      } else if (typeof value === 'string' && INTEGER_STRING.test(value)) {
        big = BigInt(value);
      } else {
        return false;
      }
      if (big < min || big > max) return false;
      (store as BigIntArray)[index] = big;
      return true;
    },
    read: (store, index) => Number((store as BigIntArray)[index]),
  };
}

const CODECS: Readonly<Record<Dtype, ElementCodec>> = {
  float32: floatCodec('float32', Float32Array),
  float64: floatCodec('float64', Float64Array),
  float16: {
    dtype: 'float16',
    expected: 'float16 numbers',
    allocate: (n) => new Uint16Array(n),
    write(store, index, value) {
      if (typeof value !== 'number') return false;
      (store as Uint16Array)[index] = toFloat16Bits(value);
      return true;
    },
    read: (store, index) => fromFloat16Bits((store as Uint16Array)[index] as number),
  },
  int8: intCodec('int8', Int8Array, -128, 127),
  int16: intCodec('int16', Int16Array, -32768, 32767),
  int32: intCodec('int32', Int32Array, -2147483648, 2147483647),
  uint8: intCodec('uint8', Uint8Array, 0, 255),
  uint16: intCodec('uint16', Uint16Array, 0, 65535),
  uint32: intCodec('uint32', Uint32Array, 0, 4294967295),
  int64: bigIntCodec('int64', BigInt64Array),
  uint64: bigIntCodec('uint64', BigUint64Array),
  bool: {
    dtype: 'bool',
    expected: 'booleans (true/false, or 0/1)',
    allocate: (n) => new Uint8Array(n),
    write(store, index, value) {
      if (value === true || value === 1) (store as Uint8Array)[index] = 1;
      else if (value === false || value === 0) (store as Uint8Array)[index] = 0;
      else return false;
      return true;
    },
    read: (store, index) => (store as Uint8Array)[index] !== 0,
  },
  string: {
    dtype: 'string',
    expected: 'strings',
    allocate: (n) => new Array<string>(n).fill(''),
    write(store, index, value) {
      if (typeof value !== 'string') return false;
      (store as string[])[index] = value;
      return true;
    },
    read: (store, index) => (store as string[])[index] as string,
  },
};

export function codecFor(dtype: Dtype): ElementCodec {
  return CODECS[dtype];
}

/** A short, bounded rendering of an offending value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}
