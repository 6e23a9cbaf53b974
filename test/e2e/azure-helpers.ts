// Helpers of the Azure end-to-end tests: azurite and an AzureEmulator in the test process, and the built CLI
// run as a child with the Azure provider pointed at them through its environment (the emulator's CA through
// NODE_EXTRA_CA_CERTS, a static token instead of DefaultAzureCredential, fast polls).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningAzurite } from '@modelport/testkit';
import { AzureEmulator, startAzurite } from '@modelport/testkit';
import type { CliResult } from './helpers.js';
import { CLI, ROOT } from './helpers.js';

export const AZURE_EXAMPLES = join(ROOT, 'examples/azure');

export interface AzureCloud {
  emulator: AzureEmulator;
  azurite: RunningAzurite;
  stop(): Promise<void>;
}

export async function startAzureCloud(): Promise<AzureCloud> {
  const azurite = await startAzurite();
  const emulator = new AzureEmulator({ storage: azurite });
  await emulator.start();
  return {
    emulator,
    azurite,
    async stop() {
      await emulator.stop();
      await azurite.stop();
    },
  };
}

/** The CLI's environment: the emulator's ARM URL and CA, azurite for datastores, a token, fast polls. */
export function azureEnv(cloud: AzureCloud, stateDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MODELPORT_STATE_DIR: stateDir,
    MODELPORT_AZURE_ARM_ENDPOINT: cloud.emulator.url,
    MODELPORT_AZURE_BLOB_ENDPOINT: cloud.azurite.blobEndpoint,
    MODELPORT_AZURE_ACCESS_TOKEN: 'e2e-token-for-the-emulator',
    MODELPORT_AZURE_POLL_MS: '20',
    MODELPORT_AZURE_WAIT_TIMEOUT_S: '60',
    NODE_EXTRA_CA_CERTS: cloud.emulator.caPath,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
}

export function spawnAzureCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runAzureCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<CliResult> {
  const child = spawnAzureCli(args, env);
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

/** Copies an Azure example into `target` with the iris paths made absolute, plus edits (each must match). */
export async function azureManifest(
  example: string,
  target: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  let text = await readFile(join(AZURE_EXAMPLES, example), 'utf8');
  text = text
    .replace('uri: ../iris/model.onnx', `uri: ${join(ROOT, 'examples/iris/model.onnx')}`)
    .replace('input: ../iris/batch-input', `input: ${join(ROOT, 'examples/iris/batch-input')}`);
  for (const [from, to] of edits) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text)) {
      throw new Error(`examples/azure/${example}: no match for ${String(from)}`);
    }
    text = text.replace(from, to);
  }
  await writeFile(target, text);
  return target;
}
