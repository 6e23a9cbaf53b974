import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { OnnxModel, RunningServer, VertexOptions } from '@modelport/runtime';
import { createJsonLogger, startServer } from '@modelport/runtime';

const MIB = 1024 * 1024;

/** A model the modelport runtime serves in this process for an emulated endpoint, and the folder of its files. */
export interface RunningModel {
  server: RunningServer;
  model: OnnxModel;
  dir: string;
}

/**
 * The model servers of an emulator, started once per key (a model location and what changes how it is
 * served) and shared by the endpoints that use it; a start that failed is forgotten, so the next call
 * tries again. How a cloud finds the model's files and words its failures stays with the emulator.
 */
export class RunningModels<T extends RunningModel> {
  private readonly running = new Map<string, Promise<T>>();

  /** The running entry of `key`, started with `start` when there is none. */
  get(key: string, start: () => Promise<T>): Promise<T> {
    let entry = this.running.get(key);
    if (entry === undefined) {
      entry = start();
      this.running.set(key, entry);
      entry.catch(() => this.running.delete(key));
    }
    return entry;
  }

  /** Closes every server and model and removes their folders. */
  async stopAll(): Promise<void> {
    const entries = [...this.running.values()];
    this.running.clear();
    await Promise.all(
      entries.map(async (entry) => {
        try {
          const { server, model, dir } = await entry;
          await server.close(0);
          await model.close();
          await rm(dir, { recursive: true, force: true });
        } catch {
          // a server that never started has nothing to stop
        }
      }),
    );
  }
}

/** Starts the modelport runtime for `model` on a free port, silent, with a payload limit of at least 1 MB. */
export function serveModel(
  model: OnnxModel,
  maxPayloadMB: number,
  vertex?: VertexOptions,
): Promise<RunningServer> {
  return startServer({
    model,
    port: 0,
    maxPayloadBytes: Math.max(1, maxPayloadMB) * MIB,
    logger: createJsonLogger({ level: 'silent' }),
    ...(vertex === undefined ? {} : { vertex }),
  });
}

/** What a model server answered to a POST. */
export interface ModelReply {
  status: number;
  body: Buffer;
  contentType: string;
}

/**
 * POSTs `body` to a model server and buffers its answer (`defaultContentType` when it names none). With
 * `timeout`, the request is cut after `timeout.ms` and rejected with `timeout.error()` (the cloud's wording).
 */
export function postToModel(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
  defaultContentType: string,
  timeout?: { ms: number; error: () => Error },
): Promise<ModelReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 500,
            body: Buffer.concat(chunks),
            contentType: String(res.headers['content-type'] ?? defaultContentType),
          }),
        );
      },
    );
    if (timeout !== undefined) {
      req.setTimeout(timeout.ms, () => {
        req.destroy();
        reject(timeout.error());
      });
    }
    req.on('error', reject);
    req.end(body);
  });
}
