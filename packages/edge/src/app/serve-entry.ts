// The server half of a bundle (`app/server.mjs`), imported by run.mjs once the bundle is verified: the
// modelport runtime (the same server the local provider and the cloud images run) plus the
// store-and-forward queue.
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import {
  createJsonLogger,
  OnnxModel,
  startServer,
  type LoadOptions,
  type ModelSignature,
  type RunningServer,
} from '@modelport/runtime';

import { STATE_DIR, type BundleManifest } from './bundle-format.js';
import { startQueueServer, type RunningQueueServer } from './queue-server.js';
import { QueueWorker } from './queue-worker.js';
import type { RunOptions } from './run-options.js';
import { FileSpool } from './spool.js';
import { modelFromStorage } from './storage-model.js';

export interface ServeContext {
  bundleDir: string;
  manifest: BundleManifest;
  options: RunOptions;
  verified: { signed: boolean; trust: string; files: number; keyId?: string };
}

const MIB = 1024 * 1024;

/**
 * `--model` may name an .onnx file or the folder a platform puts model artifacts in (SageMaker's
 * /opt/ml/model, Azure ML's $AZUREML_MODEL_DIR, KServe's /mnt/models): then the one .onnx file in it, at
 * its top or one folder down (where an extracted model.tar.gz often leaves it).
 */
async function onnxFileIn(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  const found: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.onnx')) found.push(join(path, entry.name));
  }
  if (found.length === 0) {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      for (const inner of await readdir(join(path, entry.name), { withFileTypes: true })) {
        if (inner.isFile() && inner.name.endsWith('.onnx')) found.push(join(path, entry.name, inner.name));
      }
    }
  }
  if (found.length !== 1) {
    throw new Error(
      `--model ${path}: expected one .onnx file in the folder, found ${found.length === 0 ? 'none' : found.join(', ')}`,
    );
  }
  return found[0] as string;
}
const GRACE_MS = 30_000;

export async function serve(context: ServeContext): Promise<number> {
  const { bundleDir, manifest, options } = context;
  const logger = createJsonLogger({ level: options.logLevel, base: { bundle: manifest.name } });
  // On Vertex AI the model is in Cloud Storage (AIP_STORAGE_URI), not in the container: fetch it first.
  const fetched = await modelFromStorage(options.model, { dir: tmpdir(), env: process.env });
  const modelPath =
    fetched !== undefined
      ? fetched.path
      : options.model === undefined
        ? join(bundleDir, ...manifest.serve.model.split('/'))
        : await onnxFileIn(resolve(options.model));
  const load: LoadOptions = { name: options.name ?? manifest.serve.name };
  if (fetched?.signature !== undefined) {
    load.signature = fetched.signature as ModelSignature;
  } else if (options.model === undefined && manifest.serve.signature !== undefined) {
    load.signature = manifest.serve.signature as ModelSignature;
  }
  if (fetched !== undefined)
    logger.info('model fetched', { from: process.env['AIP_STORAGE_URI'], path: fetched.path });
  const model = await OnnxModel.load(modelPath, load);
  const timeoutSeconds = options.timeoutSeconds ?? manifest.serve.timeoutSeconds ?? 60;
  let server: RunningServer;
  try {
    server = await startServer({
      model,
      host: options.host,
      port: options.port,
      maxPayloadBytes: Math.round((options.maxPayloadMB ?? manifest.serve.maxPayloadMB ?? 6) * MIB),
      requestTimeoutMs: Math.round(timeoutSeconds * 1000),
      logger,
      vertex: { port: options.port, healthRoute: options.healthRoute, predictRoute: options.predictRoute },
    });
  } catch (error) {
    await model.close();
    throw error;
  }

  let worker: QueueWorker | undefined;
  let queue: RunningQueueServer | undefined;
  if (options.queuePort !== undefined) {
    try {
      const spool = await FileSpool.open(join(options.stateDir ?? join(bundleDir, STATE_DIR), 'spool'));
      worker = new QueueWorker({
        spool,
        serverUrl: server.url.replace('//0.0.0.0:', '//127.0.0.1:'),
        logger,
      });
      queue = await startQueueServer({
        spool,
        worker,
        host: options.host,
        port: options.queuePort,
        maxPayloadBytes: Math.round(options.queueMaxMB * MIB),
        logger,
      });
      worker.wake(); // requests accepted before a restart
    } catch (error) {
      await server.close(0);
      await model.close();
      throw error;
    }
  }
  logger.info('edge ready', {
    name: manifest.name,
    version: manifest.version,
    platform: manifest.platform,
    runtime: manifest.runtime,
    port: server.port,
    url: server.url,
    ...(queue === undefined ? {} : { queuePort: queue.port, queueUrl: queue.url }),
    verified: context.verified,
  });

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn('second signal, exiting now', { signal });
        resolveExit(1);
        return;
      }
      stopping = true;
      logger.info('shutting down', { signal });
      Promise.all([queue?.close(), worker?.stop()])
        .then(() => server.close(GRACE_MS))
        .then(() => model.close())
        .then(
          () => resolveExit(0),
          (error: unknown) => {
            logger.error('shutdown failed', { error });
            resolveExit(1);
          },
        );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
