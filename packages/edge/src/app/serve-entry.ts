// The server half of a bundle (`app/server.mjs`), imported by run.mjs once the bundle is verified: the
// modelport runtime (the same server the local provider and the cloud images run) plus the
// store-and-forward queue.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import {
  createJsonLogger,
  OnnxModel,
  startServer,
  type LoadOptions,
  type Logger,
  type ModelSignature,
  type RunningServer,
} from '@modelport/runtime';

import { STATE_DIR, type BundleManifest } from './bundle-format.js';
import { loadS3Module, resolveModel } from './model-source.js';
import { startQueueServer, type RunningQueueServer } from './queue-server.js';
import { QueueWorker } from './queue-worker.js';
import type { RunOptions } from './run-options.js';
import { FileSpool } from './spool.js';

export { batch } from './batch-entry.js';

export interface ServeContext {
  bundleDir: string;
  manifest: BundleManifest;
  options: RunOptions;
  verified: { signed: boolean; trust: string; files: number; keyId?: string };
}

const MIB = 1024 * 1024;

const GRACE_MS = 30_000;

/**
 * Finds the model the platform gives (downloading it when it is remote) and loads it: run while the
 * server already listens.
 */
async function loadModel(
  context: ServeContext,
  logger: Logger,
  downloaded: (dir: string) => void,
): Promise<OnnxModel> {
  const { bundleDir, manifest, options } = context;
  const choice = await resolveModel(options, { bundleDir, manifest, env: process.env, loadS3: loadS3Module });
  logger.info('model source', {
    source: choice.source,
    path: choice.path,
    ...(choice.from === undefined ? {} : { from: choice.from }),
    ...(choice.signaturePath === undefined ? {} : { signature: choice.signaturePath }),
  });
  const load: LoadOptions = { name: options.name ?? manifest.serve.name };
  if (choice.signature !== undefined) load.signature = choice.signature as ModelSignature;
  if (choice.downloadDir !== undefined) downloaded(choice.downloadDir);
  return OnnxModel.load(choice.path, load);
}

/**
 * Serves until SIGTERM/SIGINT. The port opens at once (platform liveness probes: Vertex AI restarts a
 * container that accepts no connection within about 40 s), readiness routes answer 503 while the model is
 * found, downloaded and loaded; when that fails the error is thrown (run.mjs exits 1) so the platform
 * restarts or fails the container.
 */
export async function serve(context: ServeContext): Promise<number> {
  const { bundleDir, manifest, options } = context;
  const logger = createJsonLogger({ level: options.logLevel, base: { bundle: manifest.name } });
  let model: OnnxModel | undefined;
  // A model downloaded at start (s3://, AIP_STORAGE_URI) is removed at exit: a restarted container
  // does not pile up copies.
  let downloadDir: string | undefined;
  const removeDownload = () =>
    downloadDir === undefined ? Promise.resolve() : rm(downloadDir, { recursive: true, force: true });
  const loading = loadModel(context, logger, (dir) => (downloadDir = dir)).then((loaded) => (model = loaded));
  loading.catch(() => undefined); // settled below, through the server
  const timeoutSeconds = options.timeoutSeconds ?? manifest.serve.timeoutSeconds ?? 60;
  let server: RunningServer;
  try {
    server = await startServer({
      model: loading,
      host: options.host,
      port: options.port,
      maxPayloadBytes: Math.round((options.maxPayloadMB ?? manifest.serve.maxPayloadMB ?? 6) * MIB),
      requestTimeoutMs: Math.round(timeoutSeconds * 1000),
      logger,
      vertex: { port: options.port, healthRoute: options.healthRoute, predictRoute: options.predictRoute },
    });
  } catch (error) {
    await loading.then((m) => m.close()).catch(() => undefined);
    throw error;
  }

  let worker: QueueWorker | undefined;
  let queue: RunningQueueServer | undefined;
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((resolve) => (resolveExit = resolve));
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
      // A model still loading is not waited for: the process exits.
      .then(() => model?.close())
      .then(removeDownload)
      .then(
        () => resolveExit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          resolveExit(1);
        },
      );
  };
  // Before the model is loaded: a platform may stop a container that is still downloading.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const loaded = await Promise.race([
    server.modelReady.then(
      () => true,
      (error: unknown) => error,
    ),
    exit.then(() => false),
  ]);
  if (loaded === false) return exit;
  if (loaded !== true) {
    // The runtime logged "model load failed"; readiness answered 503 with the reason meanwhile.
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await server.close(0);
    await removeDownload();
    throw loaded instanceof Error ? loaded : new Error(String(loaded));
  }

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
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      await server.close(0);
      await model?.close();
      await removeDownload();
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
  return exit;
}
