// Inference off the event loop: onnxruntime-node's `session.run` is synchronous (its promise only defers the
// native call with setImmediate), so a model whose run takes milliseconds holds up every other request,
// `/ping` included, for as long as it runs. A model measured to be that slow at load is run by worker
// threads instead, each with its own session; the event loop only parses, encodes and answers.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import './ort-env.js';
import * as ort from 'onnxruntime-node';

import { RequestError } from './errors.js';

/**
 * The worker's code, evaluated as a script (`eval: true`): the runtime is also shipped as one bundled file
 * (the edge bundle's app/server.mjs), so there is no separate worker file to point at. It requires
 * onnxruntime-node by the absolute path the main thread resolved.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = '1';
const ort = require(workerData.ort);
const message = (e) => (e instanceof Error ? e.message : String(e));
let session;
ort.InferenceSession.create(workerData.path, workerData.options).then(
  (s) => {
    session = s;
    parentPort.postMessage({ type: 'ready' });
  },
  (e) => parentPort.postMessage({ type: 'failed', error: message(e) }),
);
parentPort.on('message', async (m) => {
  if (m.type === 'close') {
    try { await session?.release(); } finally { parentPort.close(); }
    return;
  }
  try {
    const feeds = {};
    for (const name in m.feeds) {
      const t = m.feeds[name];
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const out = await session.run(feeds, m.outputs);
    const outputs = {};
    const transfer = new Set();
    for (const name in out) {
      const t = out[name];
      outputs[name] = { type: t.type, dims: t.dims, data: t.data };
      if (ArrayBuffer.isView(t.data)) transfer.add(t.data.buffer);
    }
    parentPort.postMessage({ type: 'result', id: m.id, outputs }, [...transfer]);
  } catch (e) {
    parentPort.postMessage({ type: 'error', id: m.id, error: message(e) });
  }
});
`;

interface WireTensor {
  type: ort.Tensor.Type;
  dims: readonly number[];
  data: ort.Tensor.DataType;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'error'; id: number; error: string };

interface Job {
  id: number;
  feeds: Record<string, WireTensor>;
  transfer: ArrayBuffer[];
  outputs: string[];
  /** Checked when a thread is free to take the job: a job nobody waits for any more is not run. */
  cancelled: (() => boolean) | undefined;
  resolve: (results: ort.InferenceSession.ReturnType) => void;
  reject: (error: Error) => void;
}

/** A failure reported by onnxruntime inside a thread (the message is onnxruntime's). */
export class ThreadRunError extends Error {
  override readonly name = 'ThreadRunError';
}

class Thread {
  job: Job | undefined;
  constructor(readonly worker: Worker) {}
}

export interface InferenceThreadsOptions {
  path: string;
  sessionOptions: ort.InferenceSession.SessionOptions;
  threads: number;
}

/** A pool of worker threads, each holding a session of the same model; jobs wait in order for a free one. */
export class InferenceThreads {
  private readonly threads: Thread[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(private readonly opts: InferenceThreadsOptions) {}

  /** Starts the threads and resolves once every one has loaded the model. */
  static async start(opts: InferenceThreadsOptions): Promise<InferenceThreads> {
    const pool = new InferenceThreads(opts);
    try {
      await Promise.all(Array.from({ length: Math.max(1, opts.threads) }, () => pool.spawn()));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** Jobs waiting for a free thread. */
  get queued(): number {
    return this.queue.length;
  }

  private spawn(): Promise<void> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ort: ortPath, path: this.opts.path, options: this.opts.sessionOptions },
    });
    const thread = new Thread(worker);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            this.threads.push(thread);
            resolve();
            this.dispatch();
            return;
          case 'failed':
            reject(new Error(m.error));
            void worker.terminate();
            return;
          case 'result':
          case 'error': {
            const job = thread.job;
            thread.job = undefined;
            if (job !== undefined && job.id === m.id) {
              if (m.type === 'result') job.resolve(fromWire(m.outputs));
              else job.reject(new ThreadRunError(m.error));
            }
            this.dispatch();
            return;
          }
        }
      });
      worker.on('error', (error) => {
        if (!ready) reject(error);
      });
      worker.on('exit', (code) => {
        if (!ready) {
          reject(new Error(`the inference thread exited with code ${code} before it loaded the model`));
          return;
        }
        const index = this.threads.indexOf(thread);
        if (index !== -1) this.threads.splice(index, 1);
        const job = thread.job;
        thread.job = undefined;
        job?.reject(new ThreadRunError(`the inference thread exited (code ${code}) during the run`));
        // A thread that died under load is replaced, so the pool keeps its size.
        if (!this.closed) {
          this.spawn().catch(() => {
            if (this.threads.length === 0) this.failQueued('no inference thread could be restarted');
          });
        }
      });
    });
  }

  /**
   * Runs the feeds on the first free thread. The input data is copied (callers may reuse their buffers);
   * the outputs come back without a copy.
   */
  run(
    feeds: Record<string, ort.Tensor>,
    outputs: string[],
    cancelled?: () => boolean,
  ): Promise<ort.InferenceSession.ReturnType> {
    if (this.closed) return Promise.reject(new RequestError('the model is closed', 'unavailable'));
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const name in feeds) {
      const tensor = feeds[name] as ort.Tensor;
      let data = tensor.data;
      if (ArrayBuffer.isView(data)) {
        // A copy of exactly the view (cloning a view would copy its whole underlying buffer), transferred.
        data = (data as Float32Array).slice();
        transfer.push((data as Float32Array).buffer as ArrayBuffer);
      }
      wire[name] = { type: tensor.type, dims: tensor.dims, data };
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, feeds: wire, transfer, outputs, cancelled, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (thread.job !== undefined) continue;
      let job = this.queue.shift();
      while (job?.cancelled?.() === true) {
        job.reject(new RequestError('the request was given up before the model ran it', 'timeout'));
        job = this.queue.shift();
      }
      if (job === undefined) return;
      thread.job = job;
      thread.worker.postMessage(
        { type: 'run', id: job.id, feeds: job.feeds, outputs: job.outputs },
        job.transfer,
      );
    }
  }

  private failQueued(reason: string): void {
    for (const job of this.queue.splice(0)) job.reject(new ThreadRunError(reason));
  }

  /** Lets running jobs finish, fails queued ones, releases the sessions and ends the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failQueued('the model is closed');
    await Promise.all(
      this.threads.map(async (thread) => {
        if (thread.job !== undefined) {
          const job = thread.job;
          await new Promise<void>((resolve) => {
            const { resolve: ok, reject: ko } = job;
            job.resolve = (r) => (ok(r), resolve());
            job.reject = (e) => (ko(e), resolve());
          });
        }
        const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
        thread.worker.postMessage({ type: 'close' });
        const timer = setTimeout(() => void thread.worker.terminate(), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.threads.length = 0;
  }
}

function fromWire(outputs: Record<string, WireTensor>): ort.InferenceSession.ReturnType {
  const results: Record<string, ort.Tensor> = {};
  for (const name in outputs) {
    const t = outputs[name] as WireTensor;
    results[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  }
  return results;
}
