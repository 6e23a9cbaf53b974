// Shared helpers of the benchmark: repository paths, statistics, child processes, the modelport CLI,
// local deployments and a cleanup stack that stops everything the bench started.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const paths = {
  cli: join(ROOT, 'packages/cli/dist/bin/modelport.js'),
  core: join(ROOT, 'packages/core/dist/index.js'),
  runtime: join(ROOT, 'packages/runtime/dist/index.js'),
  runtimeServe: join(ROOT, 'packages/runtime/dist/bin/serve.js'),
  localCapabilities: join(ROOT, 'packages/provider-local/dist/capabilities.js'),
  model: join(ROOT, 'examples/iris/model.onnx'),
  endpointManifest: join(ROOT, 'examples/iris/endpoint.yaml'),
  asyncManifest: join(ROOT, 'examples/iris/async.yaml'),
  batchManifest: join(ROOT, 'examples/iris/batch.yaml'),
  baselineServer: join(ROOT, 'bench/baseline-server.mjs'),
};

/** Built files the bench imports or runs; returns those that are missing. */
export function missingBuildOutputs() {
  const needed = [
    paths.cli,
    paths.core,
    paths.runtime,
    paths.runtimeServe,
    paths.localCapabilities,
    join(ROOT, 'packages/provider-aws/dist/index.js'),
    join(ROOT, 'packages/testkit/dist/index.js'),
    join(ROOT, 'packages/edge/dist/index.js'),
  ];
  return needed.filter((p) => !existsSync(p)).map((p) => p.slice(ROOT.length));
}

/** @param {number[]} values */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** onnxruntime-node as the runtime package resolves it (the same copy modelport uses). */
export function loadOrt() {
  return createRequire(join(ROOT, 'packages/runtime/package.json'))('onnxruntime-node');
}

/** Seeded Park–Miller PRNG: the same rows on every machine and run. */
export function prng(seed = 1) {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

/** One iris-like row of 4 features with one decimal, as a JSON array. */
export function irisRow(random) {
  const round = (v) => Math.round(v * 10) / 10;
  return `[${round(4.3 + random() * 3.6)},${round(2 + random() * 2.4)},${round(1 + random() * 5.9)},${round(0.1 + random() * 2.4)}]`;
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Start time of a process (clock ticks since boot), to tell it from a later process with the same PID. */
export function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Direct children of a process (Linux /proc). */
export function childrenOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (text !== '') return text.split(/\s+/).map(Number);
  } catch {
    // Older kernels: fall through to a scan of /proc.
  }
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** A process and all its descendants, parents first. */
export function processTree(pid) {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childrenOf(all[i]));
  return all;
}

/**
 * SIGTERM, then SIGKILL after `graceMs` if it is still there. Only for processes the bench started;
 * `started` (its start time, see startTime) guards against signalling a later process with the same PID.
 * @param {number} pid @param {number} [graceMs] @param {string} [started]
 */
export async function terminate(pid, graceMs = 5000, started = startTime(pid)) {
  const same = () => started !== undefined && isAlive(pid) && startTime(pid) === started;
  const signal = (name) => {
    try {
      if (same()) process.kill(pid, name);
    } catch {
      // Gone meanwhile.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!same()) return;
    await sleep(50);
  }
  signal('SIGKILL');
}

/** CPU seconds (user + system) used so far by a process and its descendants (Linux /proc). */
export function cpuSeconds(pid) {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Ended meanwhile.
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Memory of a process from /proc/<pid>/status, in KiB. */
export function memoryKiB(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/**
 * A stack of undo steps (run last-in first-out) and the PIDs the bench started, so that a failure or an
 * interrupt still stops every server and removes every temporary file.
 */
export class Cleanup {
  /** @type {{ label: string, fn: () => Promise<void> | void }[]} */
  #steps = [];
  /** PID → start time, so a PID reused by someone else's process is never signalled. */
  /** @type {Map<number, string | undefined>} */
  #pids = new Map();

  /** @param {string} label @param {() => Promise<void> | void} fn */
  add(label, fn) {
    const step = { label, fn };
    this.#steps.push(step);
    return async () => {
      const index = this.#steps.indexOf(step);
      if (index === -1) return;
      this.#steps.splice(index, 1);
      await fn();
    };
  }

  /** @param {number} pid */
  trackPid(pid) {
    if (pid !== undefined) this.#pids.set(pid, startTime(pid));
  }

  /** @param {number} pid */
  untrackPid(pid) {
    this.#pids.delete(pid);
  }

  async runAll() {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop();
      try {
        await step.fn();
      } catch (error) {
        console.error(`bench: cleanup "${step.label}" failed: ${error.message}`);
      }
    }
    this.killTracked();
  }

  /** Last resort, synchronous (process 'exit'): SIGKILL every tracked process still alive. */
  killTracked() {
    for (const [pid, started] of this.#pids) {
      if (!isAlive(pid) || started === undefined || startTime(pid) !== started) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
  }
}

/**
 * Runs a command and collects its output.
 * @param {string[]} args node arguments
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number, cleanup?: Cleanup }} [opts]
 * @returns {Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string, ms: number }>}
 */
export function runNode(args, opts = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    opts.cleanup?.trackPid(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`timed out after ${opts.timeoutMs} ms: node ${args.join(' ')}`));
          }, opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.cleanup?.untrackPid(child.pid);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ code, signal, stdout, stderr, ms });
    });
  });
}

/**
 * The modelport CLI with its own local state directory; throws with the CLI's output when it fails.
 * @param {string[]} args
 * @param {{ stateDir: string, cleanup?: Cleanup, timeoutMs?: number }} opts
 */
export async function cli(args, opts) {
  const env = { ...process.env, MODELPORT_STATE_DIR: opts.stateDir, NO_COLOR: '1' };
  const result = await runNode([paths.cli, ...args], {
    env,
    timeoutMs: opts.timeoutMs ?? 120_000,
    ...(opts.cleanup && { cleanup: opts.cleanup }),
  });
  if (result.code !== 0) {
    const output = (result.stderr + result.stdout).trim().split('\n').slice(-15).join('\n');
    throw new Error(`modelport ${args.join(' ')} exited with ${result.code ?? result.signal}:\n${output}`);
  }
  return result;
}

/**
 * Deploys a manifest with `modelport apply --yes` and reads its URL and supervisor PID from
 * `status --output json`. The returned `destroy` (also registered for cleanup) runs `modelport destroy`
 * and then stops whatever of the process tree is left.
 * @param {{ cleanup: Cleanup, stateDir: string, log: (m: string) => void }} ctx
 * @param {string} manifest
 */
export async function deploy(ctx, manifest) {
  const rel = manifest.slice(ROOT.length);
  ctx.log(`deploying ${rel} (modelport apply --yes)`);
  /** @type {number | undefined} */
  let supervisor;
  const destroy = ctx.cleanup.add(`destroy ${rel}`, async () => {
    // The supervisor and its workers as they are now, to stop them if `modelport destroy` cannot.
    const tree = supervisor === undefined ? [] : processTree(supervisor).map((pid) => [pid, startTime(pid)]);
    try {
      await cli(['destroy', '--yes', manifest], { stateDir: ctx.stateDir, timeoutMs: 90_000 });
    } catch (error) {
      console.error(`bench: ${error.message.split('\n')[0]}; stopping the processes directly`);
    }
    for (const [pid, started] of tree) {
      await terminate(pid, 5000, started);
      ctx.cleanup.untrackPid(pid);
    }
  });
  try {
    await cli(['apply', '--yes', manifest], { stateDir: ctx.stateDir, cleanup: ctx.cleanup });
  } catch (error) {
    await destroy();
    throw error;
  }
  const { stdout } = await cli(['status', '--output', 'json', manifest], { stateDir: ctx.stateDir });
  const status = JSON.parse(stdout).statuses?.[0];
  const pid = status?.details?.pid;
  if (typeof status?.url !== 'string' || typeof pid !== 'number') {
    await destroy();
    throw new Error(`modelport status gave no url/pid for ${rel}: ${stdout}`);
  }
  supervisor = pid;
  for (const p of processTree(pid)) ctx.cleanup.trackPid(p);
  return { url: status.url.replace(/\/$/, ''), pid, state: status.state, destroy };
}

/**
 * Starts a node script that prints a JSON line with `"msg":"ready"` and its `port`.
 * @param {{ cleanup: Cleanup }} ctx
 * @param {string[]} args
 */
export function startServerProcess(ctx, args) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  ctx.cleanup.trackPid(child.pid);
  const started = startTime(child.pid);
  const stop = ctx.cleanup.add(`stop ${args[0]}`, async () => {
    await terminate(child.pid, 5000, started);
    ctx.cleanup.untrackPid(child.pid);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error('did not get ready within 30 s')), 30_000);
    const fail = (error) => {
      clearTimeout(timer);
      void stop().finally(() => reject(new Error(`${args[0]}: ${error.message}\n${err.trim()}`)));
    };
    child.stderr.setEncoding('utf8').on('data', (c) => (err += c));
    child.stdout.setEncoding('utf8').on('data', function onData(c) {
      out += c;
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume();
      const { port } = JSON.parse(line);
      resolve({ url: `http://127.0.0.1:${port}`, pid: child.pid, stop });
    });
    child.on('exit', (code) => fail(new Error(`exited with ${code} before it was ready`)));
  });
}
