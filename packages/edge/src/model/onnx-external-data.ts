// Finds the external data files an ONNX model refers to (TensorProto.external_data "location"), without
// an ONNX library: a few protobuf fields read by hand. onnxruntime resolves those locations against the
// model's folder, so a model can point at any file on the build machine ("../../home/me/.ssh/id_rsa");
// the packager needs the list to ship them and to refuse the ones outside the model folder.

const WIRE_VARINT = 0;
const WIRE_64BIT = 1;
const WIRE_LENGTH = 2;
const WIRE_32BIT = 5;

interface Field {
  number: number;
  wire: number;
  /** For length-delimited fields: where the bytes are. */
  start: number;
  end: number;
}

class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const byte = this.bytes[this.pos++] as number;
      // Lengths and tags fit in 53 bits; multiply rather than shift past 31 bits.
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  field(): Field {
    const tag = this.varint();
    const wire = tag % 8;
    const number = Math.floor(tag / 8);
    const start = this.pos;
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        break;
      case WIRE_64BIT:
        this.pos += 8;
        break;
      case WIRE_32BIT:
        this.pos += 4;
        break;
      case WIRE_LENGTH: {
        const length = this.varint();
        const begin = this.pos;
        this.pos += length;
        if (this.pos > this.end) throw new Error('truncated field');
        return { number, wire, start: begin, end: this.pos };
      }
      default:
        throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    if (this.pos > this.end) throw new Error('truncated field');
    return { number, wire, start, end: this.pos };
  }
}

function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  const reader = new Reader(bytes, start, end);
  while (!reader.done()) yield reader.field();
}

const text = (bytes: Uint8Array, f: Field): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset + f.start, f.end - f.start).toString('utf8');

// Field numbers from onnx.proto3.
const MODEL_GRAPH = 7;
const MODEL_FUNCTIONS = 25;
const FUNCTION_NODE = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const NODE_ATTRIBUTE = 5;
const ATTRIBUTE_T = 5;
const ATTRIBUTE_G = 6;
const ATTRIBUTE_TENSORS = 10;
const ATTRIBUTE_GRAPHS = 11;
const ATTRIBUTE_SPARSE_TENSOR = 22;
const ATTRIBUTE_SPARSE_TENSORS = 23;
const SPARSE_VALUES = 1;
const SPARSE_INDICES = 2;
const TENSOR_EXTERNAL_DATA = 13;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

function tensorLocations(bytes: Uint8Array, start: number, end: number, out: Set<string>): void {
  for (const f of fields(bytes, start, end)) {
    if (f.number !== TENSOR_EXTERNAL_DATA || f.wire !== WIRE_LENGTH) continue;
    let key = '';
    let value = '';
    for (const e of fields(bytes, f.start, f.end)) {
      if (e.wire !== WIRE_LENGTH) continue;
      if (e.number === ENTRY_KEY) key = text(bytes, e);
      else if (e.number === ENTRY_VALUE) value = text(bytes, e);
    }
    if (key === 'location') out.add(value);
  }
}

function sparseLocations(bytes: Uint8Array, start: number, end: number, out: Set<string>): void {
  for (const f of fields(bytes, start, end)) {
    if (f.wire === WIRE_LENGTH && (f.number === SPARSE_VALUES || f.number === SPARSE_INDICES))
      tensorLocations(bytes, f.start, f.end, out);
  }
}

function nodeLocations(bytes: Uint8Array, start: number, end: number, out: Set<string>): void {
  for (const f of fields(bytes, start, end)) {
    if (f.number !== NODE_ATTRIBUTE || f.wire !== WIRE_LENGTH) continue;
    for (const a of fields(bytes, f.start, f.end)) {
      if (a.wire !== WIRE_LENGTH) continue;
      if (a.number === ATTRIBUTE_T || a.number === ATTRIBUTE_TENSORS)
        tensorLocations(bytes, a.start, a.end, out);
      else if (a.number === ATTRIBUTE_G || a.number === ATTRIBUTE_GRAPHS)
        graphLocations(bytes, a.start, a.end, out);
      else if (a.number === ATTRIBUTE_SPARSE_TENSOR || a.number === ATTRIBUTE_SPARSE_TENSORS)
        sparseLocations(bytes, a.start, a.end, out);
    }
  }
}

function graphLocations(bytes: Uint8Array, start: number, end: number, out: Set<string>): void {
  for (const f of fields(bytes, start, end)) {
    if (f.wire !== WIRE_LENGTH) continue;
    if (f.number === GRAPH_INITIALIZER) tensorLocations(bytes, f.start, f.end, out);
    else if (f.number === GRAPH_SPARSE_INITIALIZER) sparseLocations(bytes, f.start, f.end, out);
    else if (f.number === GRAPH_NODE) nodeLocations(bytes, f.start, f.end, out);
  }
}

/**
 * The external data locations an ONNX model refers to, as written in the model (relative paths, in
 * principle). Throws when the bytes are not a protobuf message.
 */
export function externalDataLocations(model: Uint8Array): string[] {
  const out = new Set<string>();
  for (const f of fields(model, 0, model.length)) {
    if (f.wire !== WIRE_LENGTH) continue;
    if (f.number === MODEL_GRAPH) graphLocations(model, f.start, f.end, out);
    else if (f.number === MODEL_FUNCTIONS) {
      for (const n of fields(model, f.start, f.end)) {
        if (n.number === FUNCTION_NODE && n.wire === WIRE_LENGTH) nodeLocations(model, n.start, n.end, out);
      }
    }
  }
  return [...out].sort();
}
