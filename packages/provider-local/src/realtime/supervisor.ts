import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { closeSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile } from '../paths.js';
import type { StateStore } from '../state/state-store.js';
import type { EndpointProperties } from '../endpoint-properties.js';

/**
 * How long a draining worker gets to finish the connections it was given before it is signalled (it is
 * signalled sooner when it is done). Keep-alive clients can keep a connection busy past this: then the
 * runtime's own drain (SIGTERM) answers them with `connection: close`.
 */
const DISCONNECT_WAIT_MS = 2_000;

/**
 * The background process behind a local real-time endpoint: a cluster primary that owns the port and
 * runs runtime workers. A rollout starts the new worker on the same port, waits until it listens with
 * the model loaded, then drains the old one, so callers of the stable address see no failed request.
 * It takes orders through SQLite + SIGHUP (the CLI bumps `generation`) and reports back the same way.
 */
export async function runRealtimeSupervisor(store: StateStore, kind: string, name: string): Promise<void> {
  const row = store.get(kind, name);
  if (row === undefined) throw new Error(`no deployment ${kind}/${name} in ${store.dir}`);
  const properties = row.properties as unknown as EndpointProperties;
  const port = properties.port ?? (await freePort());
  store.update(kind, name, { pid: process.pid, port, state: 'starting' });

  const runtimeBin = createRequire(import.meta.url).resolve('@modelport/runtime/serve');
  let current: { worker: Worker; generation: number } | undefined;
  let rolling = false;
  let pendingRollout = false;
  let stopping = false;

  const startWorker = async (props: EndpointProperties, generation: number): Promise<Worker> => {
    const signaturePath =
      props.signature === undefined
        ? undefined
        : writeSignature(store.dir, name, generation, props.signature);
    cluster.setupPrimary({
      exec: runtimeBin,
      args: [
        '--model',
        props.model.path,
        '--name',
        name,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--max-payload-mb',
        String(props.limits.payloadMB),
        '--timeout-s',
        String(props.limits.timeoutSeconds),
        ...(signaturePath === undefined ? [] : ['--signature', signaturePath]),
      ],
    });
    // The worker writes to the supervisor's log; what it says from here on explains a failed start.
    const log = logFile(store.dir, kind, name);
    const logOffset = fileSize(log);
    const worker = cluster.fork();
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the runtime did not start listening within 60 s')),
        60_000,
      );
      worker.once('listening', () => {
        clearTimeout(timer);
        resolveReady();
      });
      worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        const reason = runtimeFailure(log, logOffset);
        reject(
          new Error(
            `the runtime exited before serving (code ${code ?? 'none'}, signal ${signal ?? 'none'})${reason === undefined ? '; see the log' : `: ${reason}`}`,
          ),
        );
      });
    });
    worker.removeAllListeners('exit');
    worker.on('exit', (code, signal) => {
      // A worker that dies while it is the serving one leaves the endpoint down: say so in the state.
      if (!stopping && current?.worker === worker) {
        store.update(kind, name, {
          state: 'failed',
          message: `runtime exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'})`,
        });
      }
    });
    return worker;
  };

  const drain = async (worker: Worker): Promise<void> => {
    const exited = new Promise<void>((resolveExit) => worker.once('exit', () => resolveExit()));
    // Stop handing it connections before it is told to exit. This process accepts connections and passes
    // them to workers over IPC: one passed just before the worker exits would never be answered nor given
    // to another worker (the client hangs), and one it accepted but had not read a request from yet would
    // be reset by its shutdown. After disconnect() no connection is passed to it any more; the worker
    // reads the ones passed before (IPC is ordered), serves them, closes its server once they are done,
    // and only then disconnects.
    const disconnected = new Promise<void>((resolveDisconnect) =>
      worker.once('disconnect', () => resolveDisconnect()),
    );
    worker.disconnect();
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([
      disconnected,
      exited,
      new Promise<void>((resolveWait) => (waited = setTimeout(resolveWait, DISCONNECT_WAIT_MS))),
    ]);
    clearTimeout(waited);
    worker.process.kill('SIGTERM'); // the runtime finishes in-flight requests, then exits
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), 35_000);
    await exited;
    clearTimeout(timer);
  };

  const rollout = async (): Promise<void> => {
    if (rolling) {
      pendingRollout = true;
      return;
    }
    rolling = true;
    try {
      do {
        pendingRollout = false;
        const desired = store.get(kind, name);
        if (desired === undefined || desired.generation === current?.generation) continue;
        try {
          const worker = await startWorker(
            desired.properties as unknown as EndpointProperties,
            desired.generation,
          );
          const previous = current;
          current = { worker, generation: desired.generation };
          if (previous !== undefined) await drain(previous.worker);
          store.update(kind, name, {
            state: 'ready',
            activeGeneration: desired.generation,
            message: null,
            port,
          });
        } catch (error) {
          // The old worker keeps serving; the CLI reads the message and reports the failed rollout.
          store.update(kind, name, {
            state: current === undefined ? 'failed' : 'ready',
            message: `rollout ${desired.generation} failed: ${(error as Error).message}`,
          });
          if (current === undefined) process.exitCode = 1;
        }
      } while (pendingRollout);
    } finally {
      rolling = false;
    }
  };

  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (current !== undefined) await drain(current.worker);
    store.update(kind, name, { state: 'stopped', pid: null });
    store.close();
    process.exit(0);
  };

  process.on('SIGHUP', () => void rollout());
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  await rollout();
  if (current === undefined) {
    store.close();
    process.exit(1);
  }
}

function writeSignature(stateDir: string, name: string, generation: number, signature: unknown): string {
  const dir = join(stateDir, 'run');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}-${generation}-signature.json`);
  writeFileSync(path, JSON.stringify(signature));
  return path;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Why a runtime worker failed to start: the last `modelport-runtime: <reason>` line it wrote to the log
 * after `offset` (the runtime prints one on stderr when it cannot load the model or listen).
 */
function runtimeFailure(log: string, offset: number): string | undefined {
  const prefix = 'modelport-runtime: ';
  try {
    const size = fileSize(log);
    const start = Math.max(offset, size - 16_384);
    if (size <= start) return undefined;
    const buffer = Buffer.alloc(size - start);
    const fd = openSync(log, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, start);
    } finally {
      closeSync(fd);
    }
    const lines = buffer.toString('utf8').split('\n');
    const line = lines.filter((l) => l.startsWith(prefix)).at(-1);
    return line === undefined ? undefined : line.slice(prefix.length).trim();
  } catch {
    return undefined;
  }
}

/** A free port on 127.0.0.1, chosen once so every generation of workers shares it. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
