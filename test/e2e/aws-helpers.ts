// Helpers of the AWS end-to-end tests: an AwsEmulator in the test process, and the built CLI run as a child
// with the AWS provider loaded as a plugin and pointed at the emulator through its environment (static
// credentials through the SDK's default provider chain, fast polls).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsEmulator } from '@modelport/testkit';
import type { CliResult } from './helpers.js';
import { CLI, ROOT } from './helpers.js';

export const AWS_PROVIDER_DIR = join(ROOT, 'packages/provider-aws');
export const AWS_EXAMPLES = join(ROOT, 'examples/aws');
export const BUCKET = 'modelport-artifacts-123456789012';

export async function startEmulator(): Promise<AwsEmulator> {
  const emulator = new AwsEmulator({ buckets: [BUCKET] });
  await emulator.start();
  return emulator;
}

/** The CLI's environment: the AWS plugin, the emulator's URL, fake keys for the default chain, fast polls. */
export function awsEnv(emulatorUrl: string, stateDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MODELPORT_STATE_DIR: stateDir,
    MODELPORT_PLUGINS: AWS_PROVIDER_DIR,
    MODELPORT_AWS_ENDPOINT_URL: emulatorUrl,
    MODELPORT_AWS_POLL_MS: '20',
    MODELPORT_AWS_WAIT_TIMEOUT_S: '60',
    AWS_ACCESS_KEY_ID: 'AKIAEMULATOREXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'emulator-secret-not-real',
    // No profile of the machine may leak in.
    AWS_CONFIG_FILE: join(stateDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(stateDir, 'no-aws-credentials'),
    AWS_PROFILE: '',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
}

export function spawnAwsCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runAwsCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<CliResult> {
  const child = spawnAwsCli(args, env);
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

/** Copies an AWS example into `dir` with the iris paths made absolute, plus edits (each must match). */
export async function awsManifest(
  example: string,
  target: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  let text = await readFile(join(AWS_EXAMPLES, example), 'utf8');
  text = text
    .replace('uri: ../iris/model.onnx', `uri: ${join(ROOT, 'examples/iris/model.onnx')}`)
    .replace('input: ../iris/batch-input', `input: ${join(ROOT, 'examples/iris/batch-input')}`);
  for (const [from, to] of edits) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text)) {
      throw new Error(`examples/aws/${example}: no match for ${String(from)}`);
    }
    text = text.replace(from, to);
  }
  await writeFile(target, text);
  return target;
}
