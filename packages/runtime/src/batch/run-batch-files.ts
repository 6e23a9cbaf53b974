import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

import {
  readCheckpoint,
  syncDirectory,
  writeCheckpoint,
  type BatchCheckpoint,
  type FileCheckpoint,
} from './checkpoint.js';
import {
  FileSink,
  processFile,
  type BatchModel,
  type BatchProgress,
  type InputFormat,
} from './file-processor.js';

export const DEFAULT_BATCH_SIZE = 1024;
const INPUT_EXTENSIONS: Readonly<Record<string, InputFormat>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
};

export interface BatchRunOptions {
  model: BatchModel;
  /** A `.jsonl`/`.ndjson`/`.csv` file, or a folder whose such files are read in name order. */
  input: string;
  /** Folder for `<input file>.out` (JSONL predictions), `<input file>.errors.jsonl` and the checkpoint. */
  output: string;
  /** Rows per session.run; default 1024. */
  batchSize?: number;
  /** Stop the job once this many bad records were seen (default: never). */
  errorThreshold?: number;
  onProgress?: (progress: BatchProgress) => void;
  /** Stops after the current micro-batch; the job resumes from there when run again. */
  signal?: AbortSignal;
  readBufferBytes?: number;
}

export interface BatchFileResult {
  file: string;
  outputPath: string;
  /** Present when the file had bad records. */
  errorsPath?: string;
  rows: number;
  errors: number;
}

export interface BatchRunResult {
  files: BatchFileResult[];
  rows: number;
  errors: number;
  /** True when an earlier, interrupted run of the same job was continued. */
  resumed: boolean;
}

/**
 * Runs every input file through the model, resumably. After the outputs of a micro-batch are written,
 * a checkpoint records the input offset and the output lengths; it is written (outputs fsynced, then
 * tmp + fsync + rename) in the background, and while one is being written newer positions coalesce into
 * the next. A job killed at any moment and run again cuts its outputs back to the checkpoint and goes
 * on from the recorded offset, so every valid input row gives exactly one output row, in order.
 */
export async function runBatchFiles(opts: BatchRunOptions): Promise<BatchRunResult> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  if (opts.errorThreshold !== undefined && !(opts.errorThreshold >= 1)) {
    throw new Error('errorThreshold must be at least 1');
  }
  const inputs = await listInputs(opts.input);
  await mkdir(opts.output, { recursive: true });
  const previous = await readCheckpoint(opts.output);
  const checkpoint: BatchCheckpoint = previous ?? { version: 1, files: {} };
  const writer = new CheckpointWriter(opts.output, checkpoint);
  const result: BatchRunResult = { files: [], rows: 0, errors: 0, resumed: previous !== undefined };

  for (const { path, name, format } of inputs) {
    opts.signal?.throwIfAborted();
    const outputPath = join(opts.output, `${name}.out`);
    const errorsPath = join(opts.output, `${name}.errors.jsonl`);
    const inputBytes = (await stat(path)).size;
    const saved = checkpoint.files[name];
    if (saved !== undefined && saved.inputBytes !== inputBytes) {
      throw new Error(
        `input ${name} changed since the checkpoint (${saved.inputBytes} bytes then, ${inputBytes} now); ` +
          `delete ${join(opts.output, '.modelport-batch.json')} to start the job over`,
      );
    }
    const state: FileCheckpoint = saved
      ? { ...saved }
      : { offset: 0, line: 0, outputBytes: 0, errorBytes: 0, rows: 0, errors: 0, inputBytes, done: false };
    if (!state.done) {
      const sink = await FileSink.open(outputPath, errorsPath, state);
      try {
        await processFile({
          model: opts.model,
          inputPath: path,
          name,
          format,
          sink,
          batchSize,
          afterWrite: () => writer.request(name, state, sink),
          errorsBefore: result.errors,
          ...(opts.readBufferBytes !== undefined && { readBufferBytes: opts.readBufferBytes }),
          ...(opts.onProgress !== undefined && { onProgress: opts.onProgress }),
          ...(opts.signal !== undefined && { signal: opts.signal }),
          ...(opts.errorThreshold !== undefined && { errorThreshold: opts.errorThreshold }),
        });
        state.done = true;
      } finally {
        // Whatever happened, leave a checkpoint that matches the durable outputs.
        await writer.commit(name, state, sink).finally(() => sink.close());
      }
    }
    const fileResult: BatchFileResult = { file: name, outputPath, rows: state.rows, errors: state.errors };
    if (state.errorBytes > 0) fileResult.errorsPath = errorsPath;
    result.files.push(fileResult);
    result.rows += state.rows;
    result.errors += state.errors;
  }
  return result;
}

/** Writes checkpoints one at a time; requests made while one is being written coalesce into the next. */
class CheckpointWriter {
  private pending: { name: string; state: FileCheckpoint; sink: FileSink } | undefined;
  private running: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly dir: string,
    private readonly checkpoint: BatchCheckpoint,
  ) {}

  request(name: string, state: FileCheckpoint, sink: FileSink): void {
    if (this.failure !== undefined) throw this.failure;
    this.pending = { name, state: { ...state }, sink };
    this.running ??= this.drain();
  }

  /** Writes `state` now (after any checkpoint in progress) and waits until it is durable. */
  async commit(name: string, state: FileCheckpoint, sink: FileSink): Promise<void> {
    await this.running;
    this.failure = undefined;
    this.pending = { name, state: { ...state }, sink };
    await (this.running = this.drain());
    if (this.failure !== undefined) throw this.failure;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending !== undefined) {
        const { name, state, sink } = this.pending;
        this.pending = undefined;
        // The outputs first: the checkpoint must never point past bytes that are not on disk.
        await sink.sync();
        this.checkpoint.files[name] = state;
        await writeCheckpoint(this.dir, this.checkpoint);
      }
    } catch (error) {
      this.failure = error;
    } finally {
      this.running = undefined;
    }
  }
}

interface InputFile {
  path: string;
  name: string;
  format: InputFormat;
}

async function listInputs(input: string): Promise<InputFile[]> {
  const info = await stat(input).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`batch input not found: ${input}`, { cause: error });
  });
  if (info.isFile()) {
    const name = basename(input);
    return [{ path: input, name, format: INPUT_EXTENSIONS[extname(name).toLowerCase()] ?? 'jsonl' }];
  }
  const names = (await readdir(input, { withFileTypes: true }))
    .filter(
      (e) =>
        e.isFile() &&
        !e.name.startsWith('.') &&
        INPUT_EXTENSIONS[extname(e.name).toLowerCase()] !== undefined,
    )
    .map((e) => e.name)
    .sort();
  return names.map((name) => ({
    path: join(input, name),
    name,
    format: INPUT_EXTENSIONS[extname(name).toLowerCase()] as InputFormat,
  }));
}

export interface PredictFileOptions {
  model: BatchModel;
  input: string;
  output: string;
  /** Default: `<output>.errors.jsonl`, created only when a record is bad. */
  errors?: string;
  /** Default: from the input's extension (`.csv`, else JSONL). */
  format?: InputFormat;
  batchSize?: number;
  onProgress?: (progress: BatchProgress) => void;
  signal?: AbortSignal;
}

/**
 * One payload file in, one JSONL prediction file out (the async worker's unit of work): the same
 * streaming path as `runBatchFiles`, without a checkpoint. The output appears under its name only when
 * complete (written as `<output>.partial`, fsynced, renamed).
 */
export async function predictFile(
  opts: PredictFileOptions,
): Promise<{ rows: number; errors: number; errorsPath?: string }> {
  const partial = `${opts.output}.partial`;
  const errorsPath = opts.errors ?? `${opts.output}.errors.jsonl`;
  const state: FileCheckpoint = {
    offset: 0,
    line: 0,
    outputBytes: 0,
    errorBytes: 0,
    rows: 0,
    errors: 0,
    inputBytes: 0,
    done: false,
  };
  await mkdir(dirname(opts.output), { recursive: true });
  const sink = await FileSink.open(partial, errorsPath, state);
  try {
    await processFile({
      model: opts.model,
      inputPath: opts.input,
      name: basename(opts.input),
      format: opts.format ?? INPUT_EXTENSIONS[extname(opts.input).toLowerCase()] ?? 'jsonl',
      sink,
      batchSize: opts.batchSize ?? DEFAULT_BATCH_SIZE,
      ...(opts.onProgress !== undefined && { onProgress: opts.onProgress }),
      ...(opts.signal !== undefined && { signal: opts.signal }),
    });
    await sink.sync();
  } finally {
    await sink.close();
  }
  await rename(partial, opts.output);
  await syncDirectory(dirname(opts.output));
  return state.errorBytes > 0
    ? { rows: state.rows, errors: state.errors, errorsPath }
    : { rows: state.rows, errors: state.errors };
}
