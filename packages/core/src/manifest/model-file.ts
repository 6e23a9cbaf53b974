import type { Stats } from 'node:fs';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelSpec } from './manifest.generated.js';
import type { SemanticIssue } from './semantic.js';
import { uriScheme } from './semantic.js';

export interface ModelFileOptions {
  /**
   * Also read an ONNX file's top-level structure (a few bytes per field, never the whole graph) and
   * refuse what cannot be an ONNX model: empty, truncated, not protobuf, no graph.
   */
  content?: boolean;
}

const URI_PATH: (string | number)[] = ['spec', 'model', 'uri'];
const REMOTE_HINT = 'or use a remote URI (s3://, gs://, azureml://, https://)';

/** The local path a model URI names (relative paths against the manifest folder), or undefined if remote. */
export function localModelPathOf(uri: string, baseDir: string): string | undefined {
  if (uri.startsWith('file://')) {
    try {
      return fileURLToPath(uri);
    } catch {
      return uri.slice('file://'.length);
    }
  }
  if (uriScheme(uri) !== 'file') return undefined;
  return isAbsolute(uri) ? uri : resolve(baseDir, uri);
}

/**
 * A local `spec.model.uri` must name an existing regular file or folder: found at validation, at the
 * line of the uri, rather than when a server fails to start.
 */
export function checkModelFile(
  model: ModelSpec,
  baseDir: string,
  options: ModelFileOptions = {},
): SemanticIssue | undefined {
  if (model.uri === undefined) return undefined;
  const path = localModelPathOf(model.uri, baseDir);
  if (path === undefined) return undefined;
  const relative = !isAbsolute(model.uri) && !model.uri.startsWith('file://');
  const resolvedFrom = relative
    ? ` (spec.model.uri is resolved against the manifest's folder, ${baseDir})`
    : '';
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return issue(
        'file.modelMissing',
        `the model file ${path} does not exist${resolvedFrom}`,
        `fix the path to the model file or folder, ${REMOTE_HINT}`,
      );
    }
    return issue(
      'file.modelUnreadable',
      `cannot read the model file ${path} (${code ?? String(error)})`,
      'check its permissions',
    );
  }
  if (stats.isDirectory()) return undefined;
  if (!stats.isFile()) {
    return issue(
      'file.modelNotFile',
      `the model ${path} is ${kindOf(stats)}, not a regular file or folder`,
      `point spec.model.uri at the model file (or its folder), ${REMOTE_HINT}`,
    );
  }
  if (options.content === true && model.format === 'onnx') {
    const problem = onnxStructureProblem(path);
    if (problem !== undefined) {
      return issue(
        'file.modelNotOnnx',
        `the model file ${path} is not an ONNX model: ${problem}`,
        'export the model to ONNX again (torch.onnx.export, skl2onnx, tf2onnx) and check the copy is complete',
      );
    }
  }
  return undefined;
}

function issue(code: string, message: string, hint: string): SemanticIssue {
  return { severity: 'error', code, path: URI_PATH, message, hint };
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** ModelProto field numbers (onnx.proto): ir_version and graph, which every loadable model has. */
const IR_VERSION = 1;
const GRAPH = 7;
/** Top-level fields of a ModelProto are few (a dozen); more than this is not a model. */
const MAX_FIELDS = 100_000;

/** Bytes at an offset: of a file (positioned reads, never the whole file) or of a buffer. */
type ReadAt = (offset: number, length: number) => Buffer;

interface Field {
  field: number;
  wire: number;
  /** Where the header starts, where the value starts and where it ends. */
  at: number;
  start: number;
  end: number;
  /** The value of a varint field. */
  varint?: number;
}

/** Walks the protobuf fields in [start, end) by their headers; a string says why it cannot. */
function walkFields(read: ReadAt, start: number, end: number, visit: (f: Field) => void): string | undefined {
  let offset = start;
  let fields = 0;
  while (offset < end) {
    if (++fields > MAX_FIELDS) return 'too many fields for a ModelProto';
    const header = read(offset, Math.min(20, end - offset));
    const tag = varint(header, 0, header.length);
    if (tag === undefined) return `unreadable protobuf at byte ${offset}`;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0) return `a protobuf field numbered 0 at byte ${offset} (not protobuf)`;
    const valueStart = offset + tag.length;
    let next: number;
    let value: number | undefined;
    let from = valueStart;
    if (wire === 0) {
      const v = varint(header, tag.length, header.length);
      if (v === undefined) return `a value cut short at byte ${offset}`;
      value = v.value;
      next = valueStart + v.length;
    } else if (wire === 1) next = valueStart + 8;
    else if (wire === 5) next = valueStart + 4;
    else if (wire === 2) {
      const length = varint(header, tag.length, header.length);
      if (length === undefined) return `a length cut short at byte ${offset}`;
      from = valueStart + length.length;
      next = from + length.value;
    } else return `wire type ${wire} at byte ${offset} (not protobuf)`;
    if (next > end)
      return `the file ends at byte ${end}, inside a field that needs ${next} bytes (truncated?)`;
    visit({
      field,
      wire,
      at: offset,
      start: from,
      end: next,
      ...(value === undefined ? {} : { varint: value }),
    });
    offset = next;
  }
  return undefined;
}

function withFile<T>(path: string, use: (read: ReadAt, size: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read: ReadAt = (offset, length) => {
      const buffer = Buffer.alloc(length);
      const got = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, got);
    };
    return use(read, size);
  } finally {
    closeSync(fd);
  }
}

/**
 * Walks the top-level protobuf fields of an ONNX file (ModelProto) by their headers, skipping their
 * bodies: why it cannot be a model, or undefined. Reads a few bytes per field, whatever the model size.
 */
export function onnxStructureProblem(path: string): string | undefined {
  return withFile(path, (read, size) => {
    if (size === 0) return 'the file is empty';
    let graph = false;
    let problem: string | undefined;
    const walked = walkFields(read, 0, size, (f) => {
      if (problem !== undefined) return;
      if (
        f.field === IR_VERSION &&
        f.wire === 0 &&
        (f.varint === undefined || f.varint < 1 || f.varint > 1000)
      )
        problem = `ir_version ${f.varint ?? '?'} is not an ONNX IR version`;
      if (f.field === GRAPH) {
        if (f.wire !== 2) problem = 'its graph field is not a message';
        graph = true;
      }
    });
    return walked ?? problem ?? (graph ? undefined : 'it has no graph');
  });
}

/** TensorProto.DataType names (onnx.proto), as the manifest's signature writes them. */
const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
};

/** An input of an ONNX graph: name, element type, shape (-1 for a dimension with no fixed size). */
export interface OnnxInput {
  name: string;
  dtype: string;
  shape: number[];
}

/**
 * The inputs of an ONNX model file (graph inputs that are not initializers), read field by field without
 * loading the weights; undefined when the file cannot be read as a model.
 */
export function onnxInputs(path: string): OnnxInput[] | undefined {
  try {
    return withFile(path, (read, size) => {
      let graph: Field | undefined;
      if (
        walkFields(read, 0, size, (f) => void (f.field === GRAPH && f.wire === 2 && (graph = f))) !==
        undefined
      )
        return undefined;
      if (graph === undefined) return undefined;
      const inputs: OnnxInput[] = [];
      const initializers = new Set<string>();
      const problem = walkFields(read, graph.start, graph.end, (f) => {
        if (f.wire !== 2) return;
        if (f.field === 11) {
          const input = valueInfo(read(f.start, f.end - f.start));
          if (input !== undefined) inputs.push(input);
        } else if (f.field === 5) {
          // TensorProto.name is field 8; its data is skipped by the walk.
          walkFields(read, f.start, f.end, (t) => {
            if (t.field === 8 && t.wire === 2)
              initializers.add(read(t.start, t.end - t.start).toString('utf8'));
          });
        }
      });
      if (problem !== undefined) return undefined;
      return inputs.filter((i) => !initializers.has(i.name));
    });
  } catch {
    return undefined;
  }
}

/** ValueInfoProto → name, and a tensor type's element type and shape. */
function valueInfo(bytes: Buffer): OnnxInput | undefined {
  const read: ReadAt = (offset, length) => bytes.subarray(offset, offset + length);
  let name: string | undefined;
  let dtype = 'float32';
  const shape: number[] = [];
  walkFields(read, 0, bytes.length, (f) => {
    if (f.field === 1 && f.wire === 2) name = read(f.start, f.end - f.start).toString('utf8');
    if (f.field !== 2 || f.wire !== 2) return;
    walkFields(read, f.start, f.end, (type) => {
      if (type.field !== 1 || type.wire !== 2) return; // TypeProto.tensor_type
      walkFields(read, type.start, type.end, (tensor) => {
        if (tensor.field === 1 && tensor.varint !== undefined) dtype = ELEMENT_TYPES[tensor.varint] ?? dtype;
        if (tensor.field !== 2 || tensor.wire !== 2) return; // TensorShapeProto
        walkFields(read, tensor.start, tensor.end, (dim) => {
          if (dim.field !== 1 || dim.wire !== 2) return;
          let size = -1;
          walkFields(read, dim.start, dim.end, (d) => {
            if (d.field === 1 && d.varint !== undefined && d.varint > 0) size = d.varint;
          });
          shape.push(size);
        });
      });
    });
  });
  return name === undefined ? undefined : { name, dtype, shape };
}

function varint(buffer: Buffer, start: number, end: number): { value: number; length: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = start; i < end && i < start + 10; i++) {
    const byte = buffer[i] as number;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, length: i - start + 1 };
  }
  return undefined;
}
