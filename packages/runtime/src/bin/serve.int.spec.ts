import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { assertDistIsCurrent, PACKAGE_DIR } from '../testing/built-dist.js';
import { call, postJson } from '../testing/http-client.js';
import { classify, writeClassifierModel } from '../testing/test-models.js';

const SERVE = join(PACKAGE_DIR, 'dist/bin/serve.js');
let dir: string;
let modelPath: string;
const children = new Set<ChildProcessWithoutNullStreams>();

interface Started {
  child: ChildProcessWithoutNullStreams;
  ready: { level: string; msg: string; port: number; url: string };
  lines: () => Record<string, unknown>[];
  exit: Promise<{ code: number | null; stderr: string }>;
}

function serve(args: string[], env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, [SERVE, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stderr });
    }),
  );
  const lines = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, lines, exit, ready: undefined as never };
}

async function serveReady(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const started = serve(args, env);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = started.lines().find((l) => l['msg'] === 'ready');
    if (ready !== undefined) return { ...started, ready: ready as Started['ready'] };
    const exited = await Promise.race([started.exit, new Promise((r) => setTimeout(() => r(undefined), 20))]);
    if (exited !== undefined) throw new Error(`serve exited before ready: ${JSON.stringify(exited)}`);
    if (Date.now() > deadline) throw new Error('serve did not print its ready line');
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

beforeAll(() => {
  assertDistIsCurrent();
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-bin-'));
  modelPath = writeClassifierModel(dir, 'iris.onnx');
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('modelport-runtime bin', () => {
  it('prints a ready line, serves, and exits 0 on SIGTERM', async () => {
    const started = await serveReady(['--model', modelPath, '--name', 'iris', '--port', '0']);
    expect(started.ready).toMatchObject({
      level: 'info',
      msg: 'ready',
      url: `http://127.0.0.1:${started.ready.port}`,
    });
    expect(started.ready.port).toBeGreaterThan(0);
    const url = started.ready.url;
    expect((await call(url, '/ping')).status).toBe(200);
    const reply = await postJson(url, '/v1/models/iris:predict', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    expect(reply.status).toBe(200);
    const [prediction] = (reply.json as { predictions: { label: number }[] }).predictions;
    expect(prediction?.label).toBe(classify([5.1, 3.5, 1.4, 0.2]).label);
    // info level: no access log lines.
    expect(started.lines().filter((l) => l['msg'] === 'request')).toEqual([]);

    started.child.kill('SIGTERM');
    const { code } = await started.exit;
    expect(code).toBe(0);
    expect(started.lines().map((l) => l['msg'])).toEqual([
      'listening',
      'ready',
      'shutting down',
      'draining',
      'closed',
    ]);
  });

  it('honours the AIP_* variables of Vertex AI and a declared signature', async () => {
    const port = await freePort();
    const signature = join(dir, 'signature.json');
    writeFileSync(
      signature,
      JSON.stringify({
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
        outputs: [{ name: 'label', dtype: 'int64' }],
      }),
    );
    const started = await serveReady(
      ['--model', modelPath, '--signature', signature, '--log-level', 'debug'],
      {
        AIP_HTTP_PORT: String(port),
        AIP_HEALTH_ROUTE: '/vertex/health',
        AIP_PREDICT_ROUTE: '/vertex/predict',
      },
    );
    expect(started.ready.port).toBe(port);
    expect((await call(started.ready.url, '/vertex/health')).status).toBe(200);
    const reply = await postJson(started.ready.url, '/vertex/predict', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    expect(reply.json).toEqual({ predictions: [classify([5.1, 3.5, 1.4, 0.2]).label] });
    // The access line is written after the response, so it may reach us a moment later.
    const deadline = Date.now() + 5000;
    while (started.lines().filter((l) => l['msg'] === 'request').length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(started.lines().filter((l) => l['msg'] === 'request')).toHaveLength(2);
    started.child.kill('SIGINT');
    expect((await started.exit).code).toBe(0);
  });

  it('exits 1 with a clear message when the model is missing or corrupt', async () => {
    const missing = await serve(['--model', join(dir, 'nope.onnx'), '--port', '0']).exit;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/model file not found: .*nope\.onnx/);

    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, 'not a model');
    const bad = await serve(['--model', corrupt, '--port', '0']).exit;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot load ONNX model .*corrupt\.onnx/);
  });

  it('as a cluster worker, listens only once the model is loaded (the primary routes on listening)', async () => {
    const corrupt = join(dir, 'corrupt-worker.onnx');
    writeFileSync(corrupt, 'not a model');
    // A cluster primary, as the local provider's supervisor runs the bin: it reports the worker's events.
    const primary = (model: string) => `
      import cluster from 'node:cluster';
      cluster.setupPrimary({ exec: ${JSON.stringify(SERVE)}, execArgv: [], args: ['--model', ${JSON.stringify(model)}, '--port', '0'], silent: true });
      const worker = cluster.fork();
      worker.on('listening', async (address) => {
        const ping = await fetch('http://127.0.0.1:' + address.port + '/ping');
        console.log(JSON.stringify({ event: 'listening', ping: ping.status }));
        worker.process.kill('SIGTERM');
      });
      worker.on('exit', (code) => console.log(JSON.stringify({ event: 'exit', code })));
    `;
    const run = async (model: string) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', primary(model)], { stdio: 'pipe' });
      children.add(child);
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await new Promise((resolve) => child.on('close', resolve));
      children.delete(child);
      return out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    expect(await run(modelPath)).toEqual([
      { event: 'listening', ping: 200 },
      { event: 'exit', code: 0 },
    ]);
    expect(await run(corrupt)).toEqual([{ event: 'exit', code: 1 }]);
  });

  it('exits 1 on bad arguments and when the port is taken', async () => {
    const noModel = await serve([]).exit;
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/--model <path> is required/);
    expect((await serve(['--model', modelPath, '--port', 'eighty']).exit).stderr).toMatch(
      /--port must be a port number/,
    );

    const first = await serveReady(['--model', modelPath, '--port', '0']);
    const taken = await serve(['--model', modelPath, '--port', String(first.ready.port)]).exit;
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/the port is in use/);
    first.child.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);
  });
});
