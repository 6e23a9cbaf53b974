import { open, type FileHandle } from 'node:fs/promises';

import type * as ort from 'onnxruntime-node';

import { RaggedRowError, type BatchEncoder } from '../batch-encoder.js';
import { isCsvHeader } from '../csv.js';
import { RequestError } from '../errors.js';
import type { ResolvedSignature } from '../onnx-model.js';
import { formatJsonlPredictions } from '../prediction-text.js';
import { parseRecordLine, type LineFormat } from '../record-line.js';
import type { FileCheckpoint } from './checkpoint.js';
import { LineReader } from './line-reader.js';
import { parseCsvNumberRow, parseJsonNumberArray } from './number-row-parser.js';

export type InputFormat = LineFormat;

/** What the file runner needs from a model (OnnxModel has it). */
export interface BatchModel {
  readonly signature: ResolvedSignature;
  readonly batched: boolean;
  createEncoder(capacity: number): BatchEncoder;
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType>;
}

export interface BatchProgress {
  file: string;
  /** Prediction rows written for this file so far. */
  rowsDone: number;
  /** Bad records of this file so far. */
  errors: number;
  bytesDone: number;
  bytesTotal: number;
}

/** The job stops (after writing what it has) once this many bad records were seen. */
export class BatchErrorThresholdError extends Error {
  constructor(readonly errors: number) {
    super(`the job stopped after ${errors} bad records (errorThreshold ${errors})`);
    this.name = 'BatchErrorThresholdError';
  }
}

/** Output and error files of one input, written at known positions so a resume can truncate them. */
export class FileSink {
  private errorFile: FileHandle | undefined;

  private constructor(
    private readonly output: FileHandle,
    private readonly errorsPath: string,
    readonly state: FileCheckpoint,
  ) {}

  /** Opens the outputs and cuts them back to the lengths in `state` (what the last checkpoint made durable). */
  static async open(outputPath: string, errorsPath: string, state: FileCheckpoint): Promise<FileSink> {
    const output = await openAt(outputPath, state.outputBytes);
    const sink = new FileSink(output, errorsPath, state);
    if (state.errorBytes > 0) sink.errorFile = await openAt(errorsPath, state.errorBytes);
    return sink;
  }

  async append(outputText: string, errorText: string): Promise<void> {
    if (outputText !== '')
      this.state.outputBytes += await writeAt(this.output, outputText, this.state.outputBytes);
    if (errorText !== '') {
      this.errorFile ??= await openAt(this.errorsPath, 0);
      this.state.errorBytes += await writeAt(this.errorFile, errorText, this.state.errorBytes);
    }
  }

  async sync(): Promise<void> {
    await this.output.datasync();
    await this.errorFile?.datasync();
  }

  async close(): Promise<void> {
    await this.output.close();
    await this.errorFile?.close();
  }
}

async function openAt(path: string, length: number): Promise<FileHandle> {
  if (length === 0) return open(path, 'w');
  const file = await open(path, 'r+');
  const { size } = await file.stat();
  if (size < length) {
    await file.close();
    throw new Error(
      `${path} holds ${size} bytes but the checkpoint says ${length}: it was changed outside the job`,
    );
  }
  await file.truncate(length);
  return file;
}

async function writeAt(file: FileHandle, text: string, position: number): Promise<number> {
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await file.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
  return written;
}

export interface ProcessFileOptions {
  model: BatchModel;
  inputPath: string;
  /** Name reported in progress and errors. */
  name: string;
  format: InputFormat;
  sink: FileSink;
  batchSize: number;
  readBufferBytes?: number;
  /** Called after every micro-batch is written (the runner schedules a checkpoint here). */
  afterWrite?: () => void;
  onProgress?: (progress: BatchProgress) => void;
  signal?: AbortSignal;
  /** Bad records seen by the job before this file; with `errorThreshold`, stops the job. */
  errorsBefore?: number;
  errorThreshold?: number;
}

/**
 * Streams one input file through the model in micro-batches, from the offset in `sink.state`. Each
 * micro-batch is one session.run; its predictions and bad records are appended, then `state` moves on.
 */
export async function processFile(opts: ProcessFileOptions): Promise<void> {
  const { model, sink, format } = opts;
  const state = sink.state;
  const input = await open(opts.inputPath, 'r');
  try {
    const bytesTotal = (await input.stat()).size;
    const reader = new LineReader(input, state.offset, state.line, opts.readBufferBytes);
    const encoder = model.createEncoder(model.batched ? opts.batchSize : 1);
    const single = model.signature.inputs.length === 1 ? model.signature.inputs[0] : undefined;
    const fast = single !== undefined && (single.dtype === 'float32' || single.dtype === 'float64');
    const parseRow = format === 'csv' ? parseCsvNumberRow : parseJsonNumberArray;
    const threshold = opts.errorThreshold ?? Infinity;
    const outputs = model.signature.outputs;
    let headerPending = format === 'csv' && state.line === 0;
    let errorText = '';
    let batchErrors = 0;
    let stop: Error | undefined;

    const badRecord = (line: number, message: string) => {
      errorText += `{"line":${line},"error":${JSON.stringify(message)}}\n`;
      batchErrors++;
      if ((opts.errorsBefore ?? 0) + state.errors + batchErrors >= threshold) {
        stop ??= new BatchErrorThresholdError(threshold);
      }
    };

    const flush = async () => {
      const rows = encoder.count;
      let outputText = '';
      if (rows > 0) {
        const results = await model.run(encoder.toFeeds());
        outputText = formatJsonlPredictions(results, outputs, rows, model.batched);
        encoder.reset();
      }
      await sink.append(outputText, errorText);
      state.offset = reader.offsetAfterLine;
      state.line = reader.lineNumber;
      state.rows += rows;
      state.errors += batchErrors;
      errorText = '';
      batchErrors = 0;
      opts.afterWrite?.();
      opts.onProgress?.({
        file: opts.name,
        rowsDone: state.rows,
        errors: state.errors,
        bytesDone: state.offset,
        bytesTotal,
      });
      if (opts.signal?.aborted) stop ??= abortReason(opts.signal);
    };

    /** The general path: a string per line, JSON.parse or the CSV parser, full validation and messages. */
    const addSlow = async (text: string, line: number) => {
      let instance: unknown;
      try {
        instance = parseRecordLine(format, text);
      } catch (error) {
        if (!RequestError.is(error)) throw error;
        return badRecord(line, error.message);
      }
      try {
        encoder.add(instance);
      } catch (error) {
        if (error instanceof RaggedRowError) {
          // Rows of another length start a new micro-batch instead of failing.
          await flush();
          try {
            encoder.add(instance);
          } catch (retryError) {
            if (!RequestError.is(retryError)) throw retryError;
            badRecord(line, retryError.message);
          }
        } else if (RequestError.is(error)) {
          badRecord(line, error.message);
        } else {
          throw error;
        }
      }
    };

    while (stop === undefined) {
      if (!reader.nextLine()) {
        if (!(await reader.fill())) break;
        if (reader.takeOversized()) badRecord(reader.lineNumber, 'the line is longer than the reader allows');
        continue;
      }
      const buffer = reader.buffer;
      const start = reader.lineStart;
      const end = reader.lineEnd;
      let first = start;
      while (first < end && (buffer[first] === 0x20 || buffer[first] === 0x09)) first++;
      if (first === end) continue; // blank line
      if (headerPending) {
        headerPending = false;
        if (isCsvHeader(buffer.toString('utf8', start, end))) continue;
      }
      if (fast) {
        const store = encoder.directFloatStore();
        if (store !== undefined) {
          const size = encoder.rowSize;
          if (parseRow(buffer, first, end, store, encoder.nextRowOffset, size) === size) {
            encoder.commitDirectRow();
            if (encoder.full) await flush();
            continue;
          }
        }
      }
      await addSlow(buffer.toString('utf8', start, end), reader.lineNumber);
      if (encoder.full) await flush();
    }
    await flush();
    if (stop !== undefined) throw stop;
  } finally {
    await input.close();
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('the batch job was aborted', 'AbortError');
}
