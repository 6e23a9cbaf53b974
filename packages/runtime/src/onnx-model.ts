import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';

import './ort-env.js';
import * as ort from 'onnxruntime-node';

import { BatchEncoder, isBatchable, RaggedRowError } from './batch-encoder.js';
import { errorMessage, ModelLoadError, RequestError } from './errors.js';
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
}

/** What the HTTP server needs from a model (an interface, so tests can serve fakes). */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly signature: ResolvedSignature;
  predictInstances(instances: unknown[]): Promise<unknown[]>;
  /** Optional fast path: the predictions as JSON text, equal to JSON.stringify(predictInstances(...)). */
  predictInstancesJson?(instances: unknown[]): Promise<string>;
  inferV2(request: V2InferRequest): Promise<V2InferResponse>;
}

/** Requests with fewer rows than this may share one session.run with concurrent requests. */
export const MAX_COALESCED_ROWS = 1024;

interface QueuedRequest {
  instances: unknown[];
  /** First row of this request in the shared batch. */
  start: number;
  /** Wants JSON text rather than decoded objects. */
  json: boolean;
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
  private readonly outputNames: string[];
  private inflight = 0;
  private idle: (() => void) | undefined;
  private closed = false;
  private pending: PendingRun | undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
    readonly name: string,
    readonly version: string,
    readonly signature: ResolvedSignature,
  ) {
    this.batched = isBatchable(signature.inputs);
    this.outputNames = signature.outputs.map((o) => o.name);
  }

  static async load(path: string, opts: LoadOptions = {}): Promise<OnnxModel> {
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new ModelLoadError(`model path is not a file: ${path}`);
    } catch (error) {
      if (error instanceof ModelLoadError) throw error;
      throw new ModelLoadError(`model file not found: ${path}`, { cause: error });
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        graphOptimizationLevel: 'all',
        ...opts.sessionOptions,
      });
    } catch (error) {
      throw new ModelLoadError(`cannot load ONNX model ${path}: ${errorMessage(error)}`, { cause: error });
    }
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
      return new OnnxModel(session, path, name, opts.version ?? '1', signature);
    } catch (error) {
      await session.release();
      throw new ModelLoadError(`cannot serve ONNX model ${path}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /**
   * One prediction per instance; all instances go through one run when the model has a batch dimension.
   * Small requests arriving in the same event-loop turn share that run (dynamic batching): onnxruntime's
   * fixed cost per run is then paid once per turn rather than once per request.
   */
  predictInstances(instances: unknown[]): Promise<unknown[]> {
    return this.predict(instances, false) as Promise<unknown[]>;
  }

  /**
   * The same predictions as JSON text (what JSON.stringify(await predictInstances(...)) gives), built
   * straight from the output tensors: what the HTTP server sends.
   */
  predictInstancesJson(instances: unknown[]): Promise<string> {
    return this.predict(instances, true) as Promise<string>;
  }

  private async predict(instances: unknown[], json: boolean): Promise<unknown[] | string> {
    if (!Array.isArray(instances) || instances.length === 0) {
      throw new RequestError('expected a non-empty array of instances');
    }
    if (!this.batched) {
      const predictions: unknown[] = [];
      for (let i = 0; i < instances.length; i++) {
        predictions.push(...((await this.predictAlone([instances[i]], false, i)) as unknown[]));
      }
      return json ? JSON.stringify(predictions) : predictions;
    }
    if (instances.length >= MAX_COALESCED_ROWS) return this.predictAlone(instances, json);
    return new Promise((resolve, reject) => this.enqueue({ instances, start: 0, json, resolve, reject }));
  }

  private async predictAlone(
    instances: unknown[],
    json: boolean,
    firstIndex = 0,
  ): Promise<unknown[] | string> {
    const encoder = this.createEncoder(instances.length);
    for (let i = 0; i < instances.length; i++) addInstance(encoder, instances[i], firstIndex + i);
    const results = await this.run(encoder.toFeeds());
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
    const count = request.instances.length;
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
    try {
      results = await this.run(encoder.toFeeds());
    } catch (error) {
      if (requests.length === 1) {
        requests[0]?.reject(error);
        return;
      }
      // One request's data may be what the model failed on: run each alone, so only that one fails.
      for (const r of requests) this.predictAlone(r.instances, r.json).then(r.resolve, r.reject);
      return;
    }
    const total = encoder.count;
    for (const r of requests) {
      try {
        r.resolve(this.render(results, total, r.start, r.instances.length, r.json));
      } catch (error) {
        r.reject(error);
      }
    }
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

  /** A raw session.run that `close()` waits for; onnxruntime failures become RequestErrors. */
  async run(
    feeds: Record<string, ort.Tensor>,
    outputNames?: string[],
  ): Promise<ort.InferenceSession.ReturnType> {
    if (this.closed) throw new RequestError(`model "${this.name}" is closed`, 'unavailable');
    this.inflight++;
    try {
      return await this.session.run(feeds, outputNames ?? this.outputNames);
    } catch (error) {
      const message = errorMessage(error);
      if (INPUT_FAULT.test(message))
        throw new RequestError(`the model rejected the input: ${message}`, 'invalid_input');
      throw new RequestError(`the model failed to run: ${message}`, 'internal', { cause: error });
    } finally {
      this.inflight--;
      if (this.inflight === 0) this.idle?.();
    }
  }

  /** Waits for running inferences, then frees the session. Further calls fail with 503. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flushPending();
    this.closed = true;
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.session.release();
  }
}

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
