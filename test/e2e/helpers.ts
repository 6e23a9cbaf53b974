// Shared helpers of the end-to-end tests: the built CLI as a child process, temp workspaces with their own
// state folder, manifests copied from examples/iris, a raw HTTP client, onnxruntime as the reference
// model, and cleanup that ends every process a test started (by pid) even when the test failed.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'packages/cli/dist/bin/modelport.js');
export const IRIS_DIR = join(ROOT, 'examples/iris');
export const IRIS_MODEL = join(IRIS_DIR, 'model.onnx');

// ---------------------------------------------------------------------------------------------- CLI

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  stateDir: string;
  /** Give up (SIGKILL) after this long; default 120 s. */
  timeoutMs?: number;
  input?: string;
}

/** The environment of a child CLI: its own state folder, no colours. */
export function cliEnv(stateDir: string): NodeJS.ProcessEnv {
  return { ...process.env, MODELPORT_STATE_DIR: stateDir, NO_COLOR: '1', FORCE_COLOR: '0' };
}

/** Starts `modelport <args>` without waiting (for tests that kill it). */
export function spawnCli(args: readonly string[], options: CliOptions): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: cliEnv(options.stateDir),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `modelport <args>` to the end; never throws for a non-zero exit code. */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  child.stdin?.end(options.input ?? '');
  return collect(child, options.timeoutMs ?? 120_000);
}

/** Starts `modelport <args>` with exactly `env` (a provider pointed at its emulator), without waiting. */
export function spawnCliWithEnv(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `modelport <args>` with exactly `env` to the end; never throws for a non-zero exit code. */
export function runCliWithEnv(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<CliResult> {
  return collect(spawnCliWithEnv(args, env), timeoutMs);
}

/** Gathers a child's output until it closes; SIGKILLs it after `timeoutMs`. */
function collect(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === null ? -1 : 128),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Runs `modelport --output json <args>` and parses stdout. */
export async function runCliJson<T = Record<string, unknown>>(
  args: readonly string[],
  options: CliOptions,
): Promise<CliResult & { json: T }> {
  const result = await runCli(['--output', 'json', ...args], options);
  let json: T;
  try {
    json = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `modelport ${args.join(' ')} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return { ...result, json };
}

/** Shapes printed by `--output json` that the tests read. */
export interface StatusJson {
  ok: boolean;
  statuses: {
    kind: string;
    name: string;
    provider: string;
    state: string;
    message?: string;
    url?: string;
    specHash?: string;
    resources: { type: string; name: string; state: string }[];
    details?: Record<string, unknown> & { pid?: number | null; generation?: number };
  }[];
}

export interface PlanActionJson {
  id: string;
  kind: string;
  type: string;
  name: string;
  reason: string;
  changes: { path: string; before: unknown; after: unknown }[];
}

export interface PlanJson {
  ok: boolean;
  plans: { kind: string; name: string; provider: string; actions: PlanActionJson[] }[];
}

export interface ApplyJson {
  ok: boolean;
  outcomes: {
    plan: { actions: PlanActionJson[] };
    result: {
      ok: boolean;
      executions: number;
      done: string[];
      failed: { id: string; error: { kind: string; message: string; hint?: string } }[];
    };
  }[];
}

export interface ErrorJson {
  ok: false;
  error: { kind: string; message: string; hint?: string; details?: Record<string, unknown> };
}

export async function statusOf(manifest: string, stateDir: string): Promise<StatusJson['statuses'][number]> {
  const { json, code, stderr } = await runCliJson<StatusJson>(['status', manifest], { stateDir });
  const status = json.statuses[0];
  if (code !== 0 || status === undefined) throw new Error(`status failed (exit ${code}): ${stderr}`);
  return status;
}

export async function planActions(manifest: string, stateDir: string): Promise<PlanActionJson[]> {
  const { json, code, stderr } = await runCliJson<PlanJson>(['plan', manifest], { stateDir });
  if (code !== 0) throw new Error(`plan failed (exit ${code}): ${stderr}`);
  return json.plans.flatMap((p) => p.actions);
}

// ---------------------------------------------------------------------------------------- workspaces

export interface Workspace {
  dir: string;
  stateDir: string;
  /** Manifests deployed in this workspace: destroyed by cleanup(). */
  track(manifest: string): void;
  /** A process the test started itself (a CLI child): killed by cleanup() if still alive. */
  trackPid(pid: number | undefined): void;
  /** Destroys tracked deployments, then kills (by pid) every process still using the state folder. */
  cleanup(): Promise<void>;
}

/** A temp folder with its own MODELPORT_STATE_DIR; `prefix` should name the test file. */
export async function createWorkspace(prefix: string): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), `modelport-e2e-${prefix}-`));
  const stateDir = join(dir, 'state');
  const manifests = new Set<string>();
  const pids = new Set<number>();
  return {
    dir,
    stateDir,
    track: (manifest) => manifests.add(manifest),
    trackPid: (pid) => {
      if (pid !== undefined) pids.add(pid);
    },
    cleanup: async () => {
      for (const pid of pids) killTree(pid);
      for (const manifest of manifests) {
        // Best effort: a broken deployment must not stop the rest of the cleanup.
        await runCli(['destroy', manifest, '--yes'], { stateDir, timeoutMs: 60_000 }).catch(() => undefined);
      }
      // Whatever is still running with our unique state folder on its command line (supervisors) and
      // its children (runtime workers) was started by this test.
      for (const pid of processesMentioning(stateDir)) killTree(pid);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Copies an example manifest with edits. Every edit must match (a changed example fails loudly instead of
 * silently testing something else); the model uri is made absolute, since the copy lives elsewhere.
 */
export async function writeManifest(
  target: string,
  example: 'endpoint' | 'async' | 'batch',
  edits: readonly [string | RegExp, string][],
): Promise<string> {
  let text = await readFile(join(IRIS_DIR, `${example}.yaml`), 'utf8');
  for (const [from, to] of [['uri: ./model.onnx', `uri: ${IRIS_MODEL}`] as const, ...edits]) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text))
      throw new Error(`examples/iris/${example}.yaml: no match for ${String(from)}`);
    text = text.replace(from, to);
  }
  await writeFile(target, text);
  return target;
}

/**
 * Copies a provider example (`dir` is its folder, e.g. examples/aws) to `target` with the iris paths made
 * absolute, plus edits; every edit must match.
 */
export async function exampleManifest(
  dir: string,
  example: string,
  target: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  let text = await readFile(join(dir, example), 'utf8');
  text = text
    .replace('uri: ../iris/model.onnx', `uri: ${IRIS_MODEL}`)
    .replace('input: ../iris/batch-input', `input: ${join(IRIS_DIR, 'batch-input')}`);
  for (const [from, to] of edits) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text)) {
      throw new Error(`${relative(ROOT, join(dir, example))}: no match for ${String(from)}`);
    }
    text = text.replace(from, to);
  }
  await writeFile(target, text);
  return target;
}

// ------------------------------------------------------------------------------- cloud providers' e2e

/** The `body` that `modelport --output json invoke|result` prints. */
export function invokeBody(stdout: string): unknown {
  return (JSON.parse(stdout) as { body: unknown }).body;
}

/** The actions of the first plan that `modelport --output json plan` prints. */
export function firstPlanActions(stdout: string): PlanActionJson[] | undefined {
  return (JSON.parse(stdout) as PlanJson).plans[0]?.actions;
}

/** Writes the documents of `files` to `target` as one multi-document manifest. */
export async function joinManifests(target: string, files: readonly string[]): Promise<string> {
  await writeFile(target, (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n---\n'));
  return target;
}

/**
 * The local iris endpoint (named `endpointName`, tracked for cleanup) and batch job that a cloud's iris
 * test compares against; the batch writes to `local-output` in the workspace.
 */
export async function localIris(
  ws: Workspace,
  endpointName: string,
): Promise<{ endpoint: string; batch: string }> {
  const endpoint = await writeManifest(join(ws.dir, 'local-endpoint.yaml'), 'endpoint', [
    [/name: iris$/m, `name: ${endpointName}`],
  ]);
  const batch = await writeManifest(join(ws.dir, 'local-batch.yaml'), 'batch', [
    ['input: ./batch-input', `input: ${join(IRIS_DIR, 'batch-input')}`],
    ['output: ./batch-output', `output: ${join(ws.dir, 'local-output')}`],
  ]);
  ws.track(endpoint);
  return { endpoint, batch };
}

/** Applies the local iris endpoint and invokes it with `payload`: the reference answer a cloud must give. */
export async function localReference(endpoint: string, stateDir: string, payload: string): Promise<unknown> {
  const applied = await runCliWithEnv(['apply', endpoint, '--yes'], cliEnv(stateDir));
  expect(applied.code, applied.stderr).toBe(0);
  const invoked = await runCliWithEnv(
    ['--output', 'json', 'invoke', endpoint, '-f', payload],
    cliEnv(stateDir),
  );
  expect(invoked.code, invoked.stderr).toBe(0);
  const local = invokeBody(invoked.stdout);
  expect(local).toMatchObject({ predictions: expect.any(Array) });
  return local;
}

/** `modelport --output json invoke <manifest> [--name <name>] -f <payload>` with `env`: the body it answered. */
export async function invokeWithEnv(
  env: NodeJS.ProcessEnv,
  manifest: string,
  payload: string,
  name?: string,
): Promise<unknown> {
  const named = name === undefined ? [] : ['--name', name];
  const invoked = await runCliWithEnv(['--output', 'json', 'invoke', manifest, ...named, '-f', payload], env);
  expect(invoked.code, invoked.stderr).toBe(0);
  return invokeBody(invoked.stdout);
}

/**
 * `modelport invoke --async` with `env`, then `modelport result <id>` with nothing else: the id the first
 * printed and the body the second answered.
 */
export async function invokeAsyncWithEnv(
  env: NodeJS.ProcessEnv,
  manifest: string,
  name: string,
  payload: string,
): Promise<{ id: string; body: unknown }> {
  const queued = await runCliWithEnv(['invoke', manifest, '--name', name, '--async', '-f', payload], env);
  expect(queued.code, queued.stderr).toBe(0);
  const id = queued.stdout.trim();
  const result = await runCliWithEnv(['--output', 'json', 'result', id, '--wait', '30'], env);
  expect(result.code, result.stderr).toBe(0);
  return { id, body: invokeBody(result.stdout) };
}

/** The JSON lines of a file (batch output). */
export async function readJsonLines(file: string): Promise<unknown[]> {
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
}

/**
 * Starts `modelport <args>` with `env` (tracked by the workspace) and SIGKILLs it when `arm`'s callback runs
 * (from an emulator's fault hook, between two cloud calls); resolves with the signal the child died of.
 */
export function crashCli(
  ws: Workspace,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  arm: (kill: () => void) => void,
): Promise<NodeJS.Signals | null> {
  const child = spawnCliWithEnv(args, env);
  ws.trackPid(child.pid);
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  arm(() => child.kill('SIGKILL'));
  return exited;
}

// ---------------------------------------------------------------------------------------- processes

/** True while the process exists and is not a zombie (zombies linger until init reaps them). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // exited between the two calls
  }
}

/** Direct children of a process (Linux /proc). */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** SIGKILLs a process and its descendants, by pid. */
export function killTree(pid: number): void {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...childPids(tree[i] ?? -1));
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Pids of processes whose command line holds `text` (our unique temp path). */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

// --------------------------------------------------------------------------------------------- HTTP

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One HTTP call on a fresh connection (`agent: false`): no keep-alive socket is shared between calls. */
export function http(
  base: string,
  path: string,
  options: {
    method?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    /** Fail the call when no complete answer came within this long (a hung request is a failed one). */
    timeoutMs?: number;
  } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const body = options.body;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
    const req = request(
      new URL(path, base),
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        agent: false,
        headers: {
          ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

/**
 * Sends a body over a server's payload limit without racing the server's early answer (a server that
 * refuses a body closes the connection; a client still writing would see EPIPE/ECONNRESET instead of the
 * answer). `declared`: only the headers go, with a Content-Length of `bytes`, and the answer is awaited.
 * `chunked`: no length is declared and whitespace is streamed until the server answers.
 */
export function sendOversized(
  base: string,
  path: string,
  bytes: number,
  mode: 'declared' | 'chunked',
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      new URL(path, base),
      {
        method: 'POST',
        agent: false,
        headers: {
          ...headers,
          ...(mode === 'declared' ? { 'content-length': String(bytes) } : { 'transfer-encoding': 'chunked' }),
        },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => undefined);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
          req.destroy();
        });
      },
    );
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (mode === 'declared') {
      req.flushHeaders();
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (!answered && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

export function postJson(base: string, path: string, value: unknown): Promise<HttpReply> {
  return http(base, path, {
    body: typeof value === 'string' ? value : JSON.stringify(value),
    headers: { 'content-type': 'application/json' },
  });
}

// ------------------------------------------------------------------------------------ data and model

export type Row = [number, number, number, number];

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Iris-like rows (the ranges of the four iris measurements, one decimal). */
export function irisRows(count: number, seed: number): Row[] {
  const random = prng(seed);
  const between = (lo: number, hi: number): number => Math.round((lo + random() * (hi - lo)) * 10) / 10;
  return Array.from({ length: count }, () => [
    between(4.3, 7.9),
    between(2.0, 4.4),
    between(1.0, 6.9),
    between(0.1, 2.5),
  ]);
}

export interface Prediction {
  probabilities: number[];
  label: number;
}

// onnxruntime-node is a dependency of packages/runtime, not of the repo root: resolved from there, with the
// few members used here typed by hand.
interface OrtTensor {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(modelPath: string): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

let session: Promise<OrtSession> | undefined;

/** The reference: the iris model run directly with onnxruntime-node, not through modelport. */
export async function referencePredictions(rows: readonly Row[]): Promise<Prediction[]> {
  const ort = createRequire(join(ROOT, 'packages/runtime/package.json'))('onnxruntime-node') as Ort;
  session ??= ort.InferenceSession.create(IRIS_MODEL);
  const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]);
  const out = await (await session).run({ input });
  const labels = out['label'];
  const probabilities = out['probabilities'];
  if (labels === undefined || probabilities === undefined) throw new Error('the iris model lost an output');
  return rows.map((_, i) => ({
    probabilities: Array.from(probabilities.data.slice(i * 3, i * 3 + 3), Number),
    label: Number(labels.data[i]),
  }));
}

/** Labels exact, probabilities within `tolerance`; the message names the first row that differs. */
export function comparePredictions(
  actual: readonly Prediction[],
  expected: readonly Prediction[],
  tolerance = 1e-6,
): string | undefined {
  if (actual.length !== expected.length) return `${actual.length} predictions, expected ${expected.length}`;
  for (const [i, want] of expected.entries()) {
    const got = actual[i];
    if (got?.label !== want.label) return `row ${i}: label ${String(got?.label)}, expected ${want.label}`;
    if (got.probabilities.length !== want.probabilities.length)
      return `row ${i}: ${got.probabilities.length} probabilities, expected ${want.probabilities.length}`;
    for (const [j, p] of want.probabilities.entries()) {
      const delta = Math.abs((got.probabilities[j] ?? Number.NaN) - p);
      if (!(delta <= tolerance))
        return `row ${i}: probability ${j} is ${got.probabilities[j]}, expected ${p}`;
    }
  }
  return undefined;
}

// ----------------------------------------------------------------------------------------- waiting

/** Polls until `probe` returns a value (not undefined), or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
