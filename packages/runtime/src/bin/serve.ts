#!/usr/bin/env node
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';

import { errorMessage } from '../errors.js';
import { startServer, type RunningServer } from '../http/server.js';
import { createJsonLogger } from '../logger.js';
import { OnnxModel, type LoadOptions } from '../onnx-model.js';
import type { ModelSignature } from '../signature.js';
import { parseServeArgs, USAGE, UsageError, type ServeArgs } from './serve-args.js';

async function main(): Promise<number> {
  let args: ServeArgs;
  try {
    args = parseServeArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`modelport-runtime: ${error.message}\n\n${USAGE}\n`);
    return 1;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = createJsonLogger({ level: args.logLevel });
  const startupFailed = (error: unknown) => {
    const message = errorMessage(error);
    logger.error('startup failed', { error: message });
    process.stderr.write(`modelport-runtime: ${message}\n`);
    return 1;
  };

  const opts: LoadOptions = {};
  if (args.name !== undefined) opts.name = args.name;
  try {
    if (args.signature !== undefined) opts.signature = await readSignature(args.signature);
  } catch (error) {
    return startupFailed(error);
  }
  // In a container: listen first, load meanwhile. Platforms probe the port (Vertex AI restarts a container
  // that has not opened it within about 40 s,
  // https://cloud.google.com/vertex-ai/docs/predictions/custom-container-requirements) and a large model
  // takes longer than that to load; readiness routes answer 503 until it is loaded.
  // As a cluster worker (the local provider's supervisor), listening is the readiness signal the primary
  // routes connections on and rolls out by: load first there, so a model that fails to load never listens.
  const loading = OnnxModel.load(args.model, opts);
  const closeModel = () =>
    loading.then(
      (model) => model.close(),
      () => undefined,
    );
  let model: OnnxModel | Promise<OnnxModel> = loading;
  if (cluster.isWorker) {
    try {
      model = await loading;
    } catch (error) {
      return startupFailed(error);
    }
  }
  let server: RunningServer;
  try {
    server = await startServer({
      model,
      host: args.host,
      port: args.port,
      maxPayloadBytes: args.maxPayloadBytes,
      requestTimeoutMs: args.requestTimeoutMs,
      logger,
      vertex: { port: args.port, healthRoute: args.healthRoute, predictRoute: args.predictRoute },
    });
  } catch (error) {
    // The process exits now; a load still running is not waited for.
    void closeModel();
    return startupFailed(error);
  }

  let stopping = false;
  const exit = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn('second signal, exiting now', { signal });
        resolve(1);
        return;
      }
      stopping = true;
      logger.info('shutting down', { signal, graceMs: args.graceMs });
      server
        .close(args.graceMs)
        // A load still running is not waited for: the process exits, which is all its cleanup needs.
        .then(() => (server.modelState === 'loading' ? undefined : closeModel()))
        .then(
          () => resolve(0),
          (error: unknown) => {
            logger.error('shutdown failed', { error: errorMessage(error) });
            resolve(1);
          },
        );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  try {
    await server.modelReady;
  } catch (error) {
    if (stopping) return exit;
    await server.close(0);
    return startupFailed(error);
  }
  return exit;
}

async function readSignature(path: string): Promise<ModelSignature> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read --signature ${path}: ${errorMessage(error)}`, { cause: error });
  }
  try {
    return JSON.parse(text) as ModelSignature;
  } catch (error) {
    throw new Error(`--signature ${path} is not valid JSON: ${errorMessage(error)}`, { cause: error });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `modelport-runtime: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
