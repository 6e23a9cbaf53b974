// Shared by the edge tests: paths, manifests, the build cache, and child processes stopped by PID.
import {
  spawn,
  type ChildProcessWithoutNullStreams,
  type SpawnOptionsWithoutStdio,
} from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadManifestFile, type LoadedEdgePackage } from '@modelport/core';

import { asEdgePackage } from '../packager.js';

export const EDGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const REPO_ROOT = join(EDGE_DIR, '..', '..');
export const IRIS_EDGE_MANIFEST = join(REPO_ROOT, 'examples/edge/iris-edge.yaml');
export const IRIS_ENDPOINT_MANIFEST = join(REPO_ROOT, 'examples/iris/endpoint.yaml');
export const IRIS_PAYLOAD = join(REPO_ROOT, 'examples/iris/payload.json');
/**
 * Compressed contents shared by every test and run (keyed by content hash, so always valid): the Node
 * binary and onnxruntime are compressed once per machine, not once per test. CI keeps node_modules/.cache.
 */
export const TEST_CACHE_DIR = join(REPO_ROOT, 'node_modules/.cache/modelport');

function newest(dir: string, suffix: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, suffix));
    else if (entry.name.endsWith(suffix) && !entry.name.endsWith('.spec.ts'))
      latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/** The on-device code is bundled from dist/app: make sure it is built from the current sources. */
export function assertAppBuilt(): void {
  const built = join(EDGE_DIR, 'dist/app/run-entry.js');
  const buildInfo = join(EDGE_DIR, 'dist/.tsbuildinfo');
  if (
    !existsSync(built) ||
    !existsSync(buildInfo) ||
    statSync(buildInfo).mtimeMs < newest(join(EDGE_DIR, 'src/app'), '.ts')
  ) {
    throw new Error(
      'packages/edge/dist is missing or older than src/app: run `npx tsc -b packages/edge` first',
    );
  }
}

export async function loadEdgeManifest(path = IRIS_EDGE_MANIFEST): Promise<LoadedEdgePackage> {
  const result = await loadManifestFile(path, { installedProviders: [], capabilitiesOf: () => undefined });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || result.manifests[0] === undefined) {
    throw new Error(`${path} does not load: ${JSON.stringify(errors)}`);
  }
  return asEdgePackage(result.manifests[0]);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface Started {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** JSON lines printed on stdout so far. */
  lines(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<Started>();

export function start(
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithoutStdio = {},
): Started {
  const child = spawn(command, args, { ...options, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const handle: Started = {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
  };
  started.add(handle);
  void exited.then(() => started.delete(handle));
  return handle;
}

/** Waits for a JSON line with msg === `msg`, or the process's exit (then throws with its output). */
export async function waitForLine(process: Started, msg: string): Promise<Record<string, unknown>> {
  let exited = false;
  void process.exited.then(() => (exited = true));
  for (;;) {
    const line = process.lines().find((l) => l['msg'] === msg);
    if (line !== undefined) return line;
    if (exited)
      throw new Error(`the process exited before "${msg}":\n${process.stdout()}\n${process.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** SIGTERM to one process we started (by its PID), SIGKILL if it is still there after `graceMs`. */
export async function stop(process: Started, graceMs = 10_000): Promise<void> {
  if (process.child.exitCode !== null || process.child.signalCode !== null) return;
  process.child.kill('SIGTERM');
  const timer = setTimeout(() => process.child.kill('SIGKILL'), graceMs);
  await process.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((p) => stop(p)));
}

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: unknown; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

/** Flips the bits of one byte of a buffer in place (tampering, in tests). */
export function flipByte(bytes: Buffer, index: number, mask = 0xff): void {
  bytes.writeUInt8((bytes.readUInt8(index) ^ mask) & 0xff, index);
}
