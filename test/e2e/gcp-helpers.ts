// Helpers of the GCP end-to-end tests: a VertexEmulator (gRPC + fake GCS) in the test process, and the
// built CLI run as a child with the built-in GCP provider pointed at it through its environment (fake
// token, no metadata server, fast polls).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VertexEmulator } from '@modelport/testkit';
import type { CliResult } from './helpers.js';
import { CLI, ROOT } from './helpers.js';

export const GCP_EXAMPLES = join(ROOT, 'examples/gcp');
export const BUCKET = 'modelport-examples-artifacts';

export async function startVertex(): Promise<VertexEmulator> {
  const emulator = new VertexEmulator({ buckets: [BUCKET] });
  await emulator.start();
  return emulator;
}

/** The CLI's environment: the emulator's gRPC and GCS endpoints, no metadata server, fast polls. */
export function gcpEnv(emulator: VertexEmulator, stateDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MODELPORT_STATE_DIR: stateDir,
    MODELPORT_GCP_API_ENDPOINT: emulator.address,
    MODELPORT_GCS_ENDPOINT: emulator.gcsUrl,
    MODELPORT_GCP_POLL_MS: '10',
    MODELPORT_GCP_WAIT_TIMEOUT_S: '60',
    METADATA_SERVER_DETECTION: 'none',
    // No credentials of the machine may leak in (the emulator path uses a fixed fake token).
    GOOGLE_APPLICATION_CREDENTIALS: join(stateDir, 'no-gcp-credentials.json'),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
}

export function spawnGcpCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runGcpCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<CliResult> {
  const child = spawnGcpCli(args, env);
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

/** Copies a GCP example into `target` with the iris paths made absolute, plus edits (each must match). */
export async function gcpManifest(
  example: string,
  target: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  let text = await readFile(join(GCP_EXAMPLES, example), 'utf8');
  text = text
    .replace('uri: ../iris/model.onnx', `uri: ${join(ROOT, 'examples/iris/model.onnx')}`)
    .replace('input: ../iris/batch-input', `input: ${join(ROOT, 'examples/iris/batch-input')}`);
  for (const [from, to] of edits) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text)) {
      throw new Error(`examples/gcp/${example}: no match for ${String(from)}`);
    }
    text = text.replace(from, to);
  }
  await writeFile(target, text);
  return target;
}
