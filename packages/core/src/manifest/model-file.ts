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

/**
 * Walks the top-level protobuf fields of an ONNX file (ModelProto) by their headers, skipping their
 * bodies: why it cannot be a model, or undefined. Reads a few bytes per field, whatever the model size.
 */
export function onnxStructureProblem(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 'the file is empty';
    const header = Buffer.alloc(20);
    let offset = 0;
    let fields = 0;
    let graph = false;
    while (offset < size) {
      if (++fields > MAX_FIELDS) return 'too many top-level fields for a ModelProto';
      const read = readSync(fd, header, 0, header.length, offset);
      const tag = varint(header, 0, read);
      if (tag === undefined) return `unreadable protobuf at byte ${offset}`;
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      if (field === 0) return `a protobuf field numbered 0 at byte ${offset} (not protobuf)`;
      let next: number;
      if (wire === 0) {
        const value = varint(header, tag.length, read);
        if (value === undefined) return `a value cut short at byte ${offset}`;
        if (field === IR_VERSION && (value.value < 1 || value.value > 1000))
          return `ir_version ${value.value} is not an ONNX IR version`;
        next = offset + tag.length + value.length;
      } else if (wire === 1) next = offset + tag.length + 8;
      else if (wire === 5) next = offset + tag.length + 4;
      else if (wire === 2) {
        const length = varint(header, tag.length, read);
        if (length === undefined) return `a length cut short at byte ${offset}`;
        next = offset + tag.length + length.length + length.value;
        if (field === GRAPH) graph = true;
      } else return `wire type ${wire} at byte ${offset} (not protobuf)`;
      if (field === GRAPH && wire !== 2) return 'its graph field is not a message';
      if (next > size)
        return `the file ends at byte ${size}, inside a field that needs ${next} bytes (truncated?)`;
      offset = next;
    }
    return graph ? undefined : 'it has no graph';
  } finally {
    closeSync(fd);
  }
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
