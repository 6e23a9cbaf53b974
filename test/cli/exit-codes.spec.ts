// The exit codes of README.md "Exit codes", one case each where the newcomer log found them wrong.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from '@modelport/core';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const fake = ['--plugin', `${root}test/fixtures/plugins/modelport-provider-fake`];
const scratch = mkdtempSync(join(tmpdir(), 'modelport-exit-codes-'));
const env = { ...process.env, MODELPORT_STATE_DIR: join(scratch, 'state'), NO_COLOR: '1' };
afterAll(() => {
  spawnSync(process.execPath, [cli, 'destroy', `${root}examples/iris/endpoint.yaml`, '--yes'], { env });
  rmSync(scratch, { recursive: true, force: true });
});

function modelport(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input: '', env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('exit codes', () => {
  it('130 when Ctrl-C stops an apply (not 10, "timeout"), saying how to carry on', async () => {
    const child = spawn(
      process.execPath,
      [cli, ...fake, 'apply', `${root}test/fixtures/fake/base.yaml`, '--yes'],
      {
        env: { ...env, MODELPORT_FAKE_EXECUTE_MS: '60000' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (/create fake:Model\/contract-model/.test(stderr.split('to create')[1] ?? '')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await started;
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted: stopping \(press Ctrl-C again to quit at once\)/);
    expect(stderr).toMatch(/interrupted: nothing more was started; run the same command again to carry on/);
  });

  it('4 (conflict) when serve is given a port in use, not 1; naming a local endpoint that holds it', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const result = modelport('serve', `${root}examples/iris/endpoint.yaml`, '--port', String(port));
      expect(result.status).toBe(4);
      expect(result.stderr).toContain(`cannot serve on 127.0.0.1:${port}: the port is in use`);
      expect(result.stderr).toMatch(/choose another --port/);
    } finally {
      holder.close();
    }

    const applied = modelport('--output', 'json', 'apply', `${root}examples/iris/endpoint.yaml`, '--yes');
    expect(applied.status, applied.stderr).toBe(0);
    const url = (JSON.parse(applied.stdout) as { outcomes: { url: string }[] }).outcomes[0]?.url ?? '';
    const taken = modelport('serve', `${root}examples/iris/endpoint.yaml`, '--port', new URL(url).port);
    expect(taken.status).toBe(4);
    expect(taken.stderr).toMatch(/the port is in use by the local endpoint iris \(modelport list\)/);
  });

  it('2 (invalid input) for a model file that is not an ONNX model, found by validate at the uri line', () => {
    const result = modelport('validate', `${root}test/fixtures/model-files/corrupt-model.yaml`);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/corrupt-model\.yaml:9:10 error spec\.model\.uri: .* is not an ONNX model/);
  });

  it('2 for a usage error and for serve --port that is not a port', () => {
    expect(modelport('serve', `${root}examples/iris/endpoint.yaml`, '--port', 'http').status).toBe(2);
  });

  it('the README table lists every code the CLI uses, and no other', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const table = readme.slice(readme.indexOf('Exit codes:'), readme.indexOf('## The API'));
    const documented = [...table.matchAll(/^\| (\d+) +\|/gm)].map((m) => Number(m[1]));
    const used = new Set([0, ...Object.values(EXIT_CODES), 11, 64, 75, 130]);
    expect(documented.sort((a, b) => a - b)).toEqual([...used].sort((a, b) => a - b));
  });
});
