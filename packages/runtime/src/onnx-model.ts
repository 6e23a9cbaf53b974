import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';

import './ort-env.js';
import * as ort from 'onnxruntime-node';

import { BatchEncoder, isBatchable, RaggedRowError } from './batch-encoder.js';
import { codecFor } from './element-codecs.js';
import { errorMessage, ModelLoadError, RequestError } from './errors.js';
import { InferenceThreads } from './inference-threads.js';
import { decodePredictions } from './output-decoder.js';
import { formatPredictions } from './prediction-text.js';
import { checkSignature, specsFromMetadata, type ModelSignature, type TensorSpec } from './signature.js';
import { parseV2Request, v2Outputs, type V2InferRequest, type V2InferResponse } from './v2-protocol.js';

/** A signature whose outputs are known (declared, or read from the model). */
export type ResolvedSignature = ModelSignature & { outputs: TensorSpec[] };

export interface LoadOptions {
  /** Declared inputs/outputs; checked against the model. Default: read from the model. */
  signature?: ModelSignature;
  /** Name the model is served under. Default: the file name without extension. */
  name?: string;
  /** Version reported by the v2 protocol. Default "1". */
  version?: string;
  /** Passed to onnxruntime (threads, optimization level, execution providers). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /**
   * Where `session.run` runs. `auto` (the default): a run of one instance is timed at load, and a model
   * slower than `offloadThresholdMs` is run by worker threads, so the event loop keeps answering other
   * requests (`/ping`, `/metrics`, small predictions) while it runs; faster ones run inline, where a
   * thread hop would cost more than it saves. `threads` and `inline` force either.
   */
  inference?: InferenceMode;
  /** Default 1 ms (a run that long holds every other request up for that long). */
  offloadThresholdMs?: number;
  /** Worker threads of an offloaded model, each with its own session; default 1 (onnxruntime already uses every core for one run). */
  inferenceThreads?: number;
}

export type InferenceMode = 'auto' | 'threads' | 'inline';

/** How a loaded model runs, and why: what the bin logs. */
export interface InferencePlacement {
  mode: 'threads' | 'inline';
  /** Threads of the pool (threads mode). */
  threads?: number;
  /** Fastest of the timed runs of one instance at load, in ms; absent when no run could be timed. */
  probeMs?: number;
  /** Why it is where it is. */
  reason: string;
}

export const DEFAULT_OFFLOAD_THRESHOLD_MS = 1;

/** What the HTTP server needs from a model (an interface, so tests can serve fakes). */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly signature: ResolvedSignature;
  /** `signal`: the caller gave up (timeout); work not started yet for it is skipped. */
  predictInstances(instances: unknown[], signal?: AbortSignal): Promise<unknown[]>;
  /** Optional fast path: the predictions as JSON text, equal to JSON.stringify(predictInstances(...)). */
  predictInstancesJson?(instances: unknown[], signal?: AbortSignal): Promise<string>;
  /**
   * Optional faster path: the rows of the only input already parsed into one typed array
   * (`rowLayout` says what the rows must look like), predictions as JSON text.
   */
  predictRowsJson?(rows: Float32Array | Float64Array, count: number, signal?: AbortSignal): Promise<string>;
  /** When defined, the model takes `predictRowsJson`: rows of `rowSize` numbers of this dtype. */
  readonly rowLayout?: RowLayout | undefined;
  inferV2(request: V2InferRequest): Promise<V2InferResponse>;
}

/**
 * The only input of a model, when its instances are rows of fixed size of float numbers: what the HTTP
 * server's scanner may parse straight into a typed array. `nested`: the dims of one instance, which the
 * scanner also accepts as nested arrays; `flat`: whether a flat row of `rowSize` numbers is accepted too.
 */
export interface RowLayout {
  dtype: 'float32' | 'float64';
  rowSize: number;
  dims: readonly number[];
  flat: boolean;
}

/** Requests with fewer rows than this may share one session.run with concurrent requests. */
export const MAX_COALESCED_ROWS = 1024;

interface QueuedRequest {
  instances: unknown[];
  /** First row of this request in the shared batch. */
  start: number;
  /** Wants JSON text rather than decoded objects. */
  json: boolean;
  /** Rows already parsed (the scanner's fast path), instead of `instances`. */
  rows?: { data: Float32Array | Float64Array; count: number } | undefined;
  signal?: AbortSignal | undefined;
  resolve: (predictions: unknown[] | string) => void;
  reject: (error: unknown) => void;
}

interface PendingRun {
  encoder: BatchEncoder;
  requests: QueuedRequest[];
}

// onnxruntime messages that mean the request's data, not the model, is at fault.
const INPUT_FAULT = /invalid dimensions|invalid rank|out of (data )?bounds|index .* is out of range/i;

export class OnnxModel implements ServedModel {
  /** True when instances are stacked along a leading batch dimension into one run. */
  readonly batched: boolean;
  readonly rowLayout: RowLayout | undefined;
  private readonly outputNames: string[];
  private inflight = 0;
  private idle: (() => void) | undefined;
  private closed = false;
  private pending: PendingRun | undefined;
  private session: ort.InferenceSession | undefined;
  private threads: InferenceThreads | undefined;
  private placement: InferencePlacement = { mode: 'inline', reason: 'not measured' };

  private constructor(
    session: ort.InferenceSession,
    readonly path: string,
    readonly name: string,
    readonly version: string,
    readonly signature: ResolvedSignature,
  ) {
    this.session = session;
    this.batched = isBatchable(signature.inputs);
    this.outputNames = signature.outputs.map((o) => o.name);
    this.rowLayout = this.batched ? rowLayoutOf(signature) : undefined;
  }

  /** Where runs happen (inline on the event loop, or worker threads) and the measured run time. */
  get inference(): InferencePlacement {
    return this.placement;
  }

  static async load(path: string, opts: LoadOptions = {}): Promise<OnnxModel> {
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new ModelLoadError(`model path is not a file: ${path}`);
    } catch (error) {
      if (error instanceof ModelLoadError) throw error;
      throw new ModelLoadError(`model file not found: ${path}`, { cause: error });
    }
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      ...opts.sessionOptions,
    };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, sessionOptions);
    } catch (error) {
      throw new ModelLoadError(`cannot load ONNX model ${path}: ${errorMessage(error)}`, { cause: error });
    }
    let model: OnnxModel;
    try {
      const inputs = specsFromMetadata(session.inputMetadata);
      const outputs = specsFromMetadata(session.outputMetadata);
      if (inputs.length !== session.inputNames.length) {
        throw new Error('the model has non-tensor inputs, which onnxruntime-node cannot feed');
      }
      if (outputs.length === 0) throw new Error('the model has no tensor outputs');
      let signature: ResolvedSignature = { inputs, outputs };
      if (opts.signature !== undefined) {
        checkSignature(opts.signature, inputs, outputs);
        signature = { inputs: opts.signature.inputs, outputs: opts.signature.outputs ?? outputs };
      }
      const name = opts.name ?? basename(path, extname(path));
      model = new OnnxModel(session, path, name, opts.version ?? '1', signature);
    } catch (error) {
      await session.release();
      throw new ModelLoadError(`cannot serve ONNX model ${path}: ${errorMessage(error)}`, { cause: error });
    }
    await model.place(opts, sessionOptions);
    return model;
  }

  /**
   * Decides where runs happen: times a few runs of one zero-filled instance (when the input shapes allow
   * one to be made) and moves a model slower than the threshold to worker threads.
   */
  private async place(opts: LoadOptions, sessionOptions: ort.InferenceSession.SessionOptions): Promise<void> {
    const mode = opts.inference ?? 'auto';
    const threshold = opts.offloadThresholdMs ?? DEFAULT_OFFLOAD_THRESHOLD_MS;
    if (mode === 'inline') {
      this.placement = { mode: 'inline', reason: 'inline was asked for' };
      return;
    }
    let probeMs: number | undefined;
    if (mode === 'auto') {
      probeMs = await this.probe();
      if (probeMs === undefined) {
        this.placement = { mode: 'inline', reason: 'no instance could be made to time a run' };
        return;
      }
      if (probeMs < threshold) {
        this.placement = {
          mode: 'inline',
          probeMs,
          reason: `a run of one instance takes ${round(probeMs)} ms (< ${threshold} ms)`,
        };
        return;
      }
    }
    const count = Math.max(1, Math.floor(opts.inferenceThreads ?? 1));
    try {
      this.threads = await InferenceThreads.start({ path: this.path, sessionOptions, threads: count });
    } catch (error) {
      this.placement = {
        mode: 'inline',
        ...(probeMs === undefined ? {} : { probeMs }),
        reason: `worker threads could not load the model (${errorMessage(error)}); running inline`,
      };
      return;
    }
    const session = this.session;
    this.session = undefined;
    await session?.release();
    this.placement = {
      mode: 'threads',
      threads: count,
      ...(probeMs === undefined ? {} : { probeMs }),
      reason:
        probeMs === undefined
          ? 'worker threads were asked for'
          : `a run of one instance takes ${round(probeMs)} ms (>= ${threshold} ms)`,
    };
  }

  /** Fastest of a few timed runs of one zero-filled instance, in ms; undefined when none can be made. */
  private async probe(): Promise<number | undefined> {
    const session = this.session;
    if (session === undefined) return undefined;
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of this.signature.inputs) {
      if (spec.shape === undefined) return undefined;
      const dims = spec.shape.map((d, i) => (d === -1 ? (i === 0 && this.batched ? 1 : -1) : d));
      if (dims.includes(-1)) return undefined; // a variable inner dimension: no size to pick
      const size = dims.reduce((a, b) => a * b, 1);
      if (size > 64 * 1024 * 1024) return undefined;
      const store = codecFor(spec.dtype).allocate(size);
      if (Array.isArray(store)) store.fill('');
      feeds[spec.name] = new ort.Tensor(spec.dtype as 'float32', store as Float32Array, dims);
    }
    let best = Number.POSITIVE_INFINITY;
    try {
      const started = performance.now();
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await session.run(feeds, this.outputNames);
        best = Math.min(best, performance.now() - t0);
        // A slow model is known after two runs (the first warms up); a fast one gets five.
        if (i >= 1 && performance.now() - started > 50) break;
      }
    } catch {
      return undefined; // zeros may be invalid input for some models (indices, say): no verdict
    }
    return best;
  }

  /**
   * One prediction per instance; all instances go through one run when the model has a batch dimension.
   * Small requests arriving in the same event-loop turn share that run (dynamic batching): onnxruntime's
   * fixed cost per run is then paid once per turn rather than once per request.
   */
  predictInstances(instances: unknown[], signal?: AbortSignal): Promise<unknown[]> {
    return this.predict(instances, false, signal) as Promise<unknown[]>;
  }

  /**
   * The same predictions as JSON text (what JSON.stringify(await predictInstances(...)) gives), built
   * straight from the output tensors: what the HTTP server sends.
   */
  predictInstancesJson(instances: unknown[], signal?: AbortSignal): Promise<string> {
    return this.predict(instances, true, signal) as Promise<string>;
  }

  /**
   * Rows already parsed into one typed array (see `rowLayout`): the same text as `predictInstancesJson`
   * of the same rows given as arrays.
   */
  predictRowsJson(rows: Float32Array | Float64Array, count: number, signal?: AbortSignal): Promise<string> {
    const layout = this.rowLayout;
    if (layout === undefined || count <= 0 || rows.length < count * layout.rowSize) {
      return Promise.reject(new Error('predictRowsJson: rows that do not fit the model'));
    }
    if (count >= MAX_COALESCED_ROWS) {
      const encoder = this.createEncoder(count);
      encoder.addRows(rows, count);
      return this.run(encoder.toFeeds(), undefined, signal).then(
        (results) => this.render(results, count, 0, count, true) as string,
      );
    }
    return new Promise((resolve, reject) =>
      this.enqueue({
        instances: [],
        rows: { data: rows, count },
        start: 0,
        json: true,
        signal,
        resolve: resolve as (p: unknown[] | string) => void,
        reject,
      }),
    );
  }

  private async predict(
    instances: unknown[],
    json: boolean,
    signal?: AbortSignal,
  ): Promise<unknown[] | string> {
    if (!Array.isArray(instances) || instances.length === 0) {
      throw new RequestError('expected a non-empty array of instances');
    }
    if (!this.batched) {
      const predictions: unknown[] = [];
      for (let i = 0; i < instances.length; i++) {
        predictions.push(...((await this.predictAlone([instances[i]], false, i, signal)) as unknown[]));
      }
      return json ? JSON.stringify(predictions) : predictions;
    }
    if (instances.length >= MAX_COALESCED_ROWS) return this.predictAlone(instances, json, 0, signal);
    return new Promise((resolve, reject) =>
      this.enqueue({ instances, start: 0, json, signal, resolve, reject }),
    );
  }

  private async predictAlone(
    instances: unknown[],
    json: boolean,
    firstIndex = 0,
    signal?: AbortSignal,
  ): Promise<unknown[] | string> {
    const encoder = this.createEncoder(instances.length);
    for (let i = 0; i < instances.length; i++) addInstance(encoder, instances[i], firstIndex + i);
    const results = await this.run(encoder.toFeeds(), undefined, signal);
    return this.render(results, encoder.count, 0, encoder.count, json);
  }

  private render(
    results: ort.InferenceSession.ReturnType,
    total: number,
    start: number,
    count: number,
    json: boolean,
  ): unknown[] | string {
    const outputs = this.signature.outputs;
    return json
      ? formatPredictions(results, outputs, total, this.batched, false, start, count)
      : decodePredictions(results, outputs, total, this.batched, start, count);
  }

  private enqueue(request: QueuedRequest): void {
    if (this.closed) {
      request.reject(new RequestError(`model "${this.name}" is closed`, 'unavailable'));
      return;
    }
    const count = request.rows?.count ?? request.instances.length;
    let batch = this.pending;
    if (batch !== undefined && batch.encoder.count + count > MAX_COALESCED_ROWS) {
      this.flushPending();
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { encoder: this.createEncoder(Math.max(count, 16)), requests: [] };
      this.pending = batch;
      setImmediate(this.flushPending);
    }
    const encoder = batch.encoder;
    const start = encoder.count;
    encoder.reserve(count);
    if (request.rows !== undefined) {
      encoder.addRows(request.rows.data, count);
    } else {
      for (let i = 0; i < count; i++) {
        try {
          encoder.add(request.instances[i]);
        } catch (error) {
          encoder.truncate(start);
          if (error instanceof RaggedRowError && i === 0 && start > 0) {
            // Rows of other dimensions than the requests already queued: they go into a run of their own.
            this.flushPending();
            this.enqueue(request);
          } else {
            request.reject(instanceError(error, i));
          }
          return;
        }
      }
    }
    request.start = start;
    batch.requests.push(request);
  }

  private readonly flushPending = (): void => {
    const batch = this.pending;
    if (batch === undefined) return;
    this.pending = undefined;
    if (batch.requests.length > 0) void this.runPending(batch);
  };

  private async runPending({ encoder, requests }: PendingRun): Promise<void> {
    let results: ort.InferenceSession.ReturnType;
    // The shared run is skipped only when every request in it was given up.
    const cancelled = () => requests.every((r) => r.signal?.aborted === true);
    try {
      results = await this.run(encoder.toFeeds(), undefined, undefined, cancelled);
    } catch (error) {
      if (requests.length === 1 || cancelled()) {
        for (const r of requests) r.reject(error);
        return;
      }
      // One request's data may be what the model failed on: run each alone, so only that one fails.
      for (const r of requests) {
        if (r.rows !== undefined) {
          this.runRowsAlone(r.rows.data, r.rows.count, r.signal).then(r.resolve, r.reject);
        } else {
          this.predictAlone(r.instances, r.json, 0, r.signal).then(r.resolve, r.reject);
        }
      }
      return;
    }
    const total = encoder.count;
    for (const r of requests) {
      try {
        r.resolve(this.render(results, total, r.start, r.rows?.count ?? r.instances.length, r.json));
      } catch (error) {
        r.reject(error);
      }
    }
  }

  private async runRowsAlone(
    rows: Float32Array | Float64Array,
    count: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const encoder = this.createEncoder(count);
    encoder.addRows(rows, count);
    const results = await this.run(encoder.toFeeds(), undefined, signal);
    return this.render(results, count, 0, count, true) as string;
  }

  async inferV2(request: V2InferRequest): Promise<V2InferResponse> {
    const parsed = parseV2Request(request, this.signature.inputs, this.signature.outputs);
    const results = await this.run(
      parsed.feeds,
      parsed.outputs.map((o) => o.name),
    );
    const response: V2InferResponse = { model_name: this.name, model_version: this.version, outputs: [] };
    if (parsed.id !== undefined) response.id = parsed.id;
    response.outputs = v2Outputs(results, parsed.outputs);
    return response;
  }

  /** An encoder for up to `capacity` instances of this model's inputs (the file runner reuses one). */
  createEncoder(capacity: number): BatchEncoder {
    return new BatchEncoder(this.signature.inputs, capacity, this.batched);
  }

  /** Runs the encoded rows and returns one prediction per row. */
  async runEncoded(encoder: BatchEncoder): Promise<unknown[]> {
    const results = await this.run(encoder.toFeeds());
    return decodePredictions(results, this.signature.outputs, encoder.count, this.batched);
  }

  /**
   * A raw session.run (inline, or on an inference thread) that `close()` waits for; onnxruntime failures
   * become RequestErrors. A run given up (`signal` aborted, or `cancelled()`) before it starts is not run.
   */
  async run(
    feeds: Record<string, ort.Tensor>,
    outputNames?: string[],
    signal?: AbortSignal,
    cancelled?: () => boolean,
  ): Promise<ort.InferenceSession.ReturnType> {
    if (this.closed) throw new RequestError(`model "${this.name}" is closed`, 'unavailable');
    const givenUp = signal === undefined ? cancelled : () => signal.aborted || cancelled?.() === true;
    if (givenUp?.() === true) {
      throw new RequestError('the request was given up before the model ran it', 'timeout');
    }
    this.inflight++;
    try {
      const names = outputNames ?? this.outputNames;
      if (this.threads !== undefined) return await this.threads.run(feeds, names, givenUp);
      return await (this.session as ort.InferenceSession).run(feeds, names);
    } catch (error) {
      if (RequestError.is(error)) throw error;
      const message = errorMessage(error);
      if (INPUT_FAULT.test(message))
        throw new RequestError(`the model rejected the input: ${message}`, 'invalid_input');
      throw new RequestError(`the model failed to run: ${message}`, 'internal', { cause: error });
    } finally {
      this.inflight--;
      if (this.inflight === 0) this.idle?.();
    }
  }

  /** Waits for running inferences, then frees the session (or ends the threads). Further calls fail with 503. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flushPending();
    this.closed = true;
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.threads?.close();
    await this.session?.release();
  }
}

function rowLayoutOf(signature: ResolvedSignature): RowLayout | undefined {
  const [input, ...rest] = signature.inputs;
  if (input === undefined || rest.length > 0) return undefined;
  if (input.dtype !== 'float32' && input.dtype !== 'float64') return undefined;
  const dims = input.shape?.slice(1);
  if (dims === undefined || dims.length === 0 || dims.some((d) => d < 0)) return undefined;
  const rowSize = dims.reduce((a, b) => a * b, 1);
  if (rowSize === 0) return undefined;
  // What BatchEncoder takes as a flat row: one dim, or several whose product differs from the first.
  return { dtype: input.dtype, rowSize, dims, flat: dims.length === 1 || rowSize !== dims[0] };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

function addInstance(encoder: BatchEncoder, instance: unknown, index: number): void {
  try {
    encoder.add(instance);
  } catch (error) {
    throw instanceError(error, index);
  }
}

function instanceError(error: unknown, index: number): unknown {
  return RequestError.is(error) ? new RequestError(`instance ${index}: ${error.message}`, error.code) : error;
}
