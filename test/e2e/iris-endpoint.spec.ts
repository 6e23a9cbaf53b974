// The iris real-time endpoint through the built CLI (child processes) and raw HTTP: every serving protocol
// predicts exactly what onnxruntime predicts on the same rows; bad requests get a clear 4xx and the server
// keeps serving; exit codes and --output json shapes; re-apply is a no-op; destroy ends the processes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ApplyJson,
  CliResult,
  ErrorJson,
  PlanJson,
  Prediction,
  Row,
  StatusJson,
  Workspace,
} from './helpers.js';
import {
  childPids,
  comparePredictions,
  createWorkspace,
  http,
  IRIS_DIR,
  postJson,
  processAlive,
  referencePredictions,
  runCli,
  runCliJson,
  sendOversized,
  statusOf,
  writeManifest,
} from './helpers.js';

interface InvokeJson {
  ok: boolean;
  status: number;
  contentType: string;
  latencyMs: number;
  body: unknown;
}

interface V2Response {
  model_name: string;
  outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}

const NAME = `iris-e2e-${process.pid}`;

function predictionsOf(body: unknown): Prediction[] {
  const predictions = (body as { predictions?: unknown } | null)?.predictions;
  if (!Array.isArray(predictions)) throw new Error(`no predictions in ${JSON.stringify(body)}`);
  return predictions as Prediction[];
}

/** `p0,p1,p2,label` lines (the CSV answer of /invocations). */
function predictionsFromCsv(text: string): Prediction[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const values = line.split(',').map(Number);
      return { probabilities: values.slice(0, 3), label: values[3] ?? Number.NaN };
    });
}

function predictionsFromV2(body: V2Response, rows: number): Prediction[] {
  const probabilities = body.outputs.find((o) => o.name === 'probabilities');
  const labels = body.outputs.find((o) => o.name === 'label');
  expect(probabilities).toMatchObject({ shape: [rows, 3], datatype: 'FP32' });
  expect(labels).toMatchObject({ shape: [rows], datatype: 'INT64' });
  return Array.from({ length: rows }, (_, i) => ({
    probabilities: probabilities?.data.slice(i * 3, i * 3 + 3) ?? [],
    label: labels?.data[i] ?? Number.NaN,
  }));
}

describe('iris real-time endpoint, end to end', () => {
  let ws: Workspace;
  let manifest = '';
  let rows: Row[] = [];
  let expected: Prediction[] = [];
  let url = '';
  let pid = 0;
  const cli = (...args: string[]) => runCli(args, { stateDir: ws.stateDir });
  const cliJson = <T>(...args: string[]) => runCliJson<T>(args, { stateDir: ws.stateDir });

  /** A good request still answers, by the same server process: the bad one did not take it down. */
  async function stillServing(): Promise<void> {
    const reply = await postJson(url, '/invocations', { instances: rows.slice(0, 2) });
    expect(reply.status).toBe(200);
    expect(comparePredictions(predictionsOf(JSON.parse(reply.text)), expected.slice(0, 2))).toBeUndefined();
    expect(processAlive(pid)).toBe(true);
  }

  beforeAll(async () => {
    ws = await createWorkspace('iris-endpoint');
    manifest = await writeManifest(join(ws.dir, 'endpoint.yaml'), 'endpoint', [
      [/name: iris$/m, `name: ${NAME}`],
    ]);
    ws.track(manifest);
    const samples = (await readFile(join(IRIS_DIR, 'samples.jsonl'), 'utf8')).trim().split('\n');
    const payload = JSON.parse(await readFile(join(IRIS_DIR, 'payload.json'), 'utf8')) as {
      instances: Row[];
    };
    rows = [
      ...samples.map((line) => (JSON.parse(line) as { instances: Row[] }).instances[0] as Row),
      ...payload.instances,
    ];
    expected = await referencePredictions(rows);
    await writeFile(join(ws.dir, 'rows.json'), JSON.stringify({ instances: rows }));
    await writeFile(join(ws.dir, 'rows.csv'), `${rows.map((r) => r.join(',')).join('\n')}\n`);
  });

  afterAll(async () => {
    await ws?.cleanup();
  });

  it('applies: exit 0, a create in the --output json plan, then a ready server in status', async () => {
    const apply = await cliJson<ApplyJson>('apply', manifest, '--yes');
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.json.ok).toBe(true);
    const [outcome] = apply.json.outcomes;
    expect(outcome?.plan.actions).toEqual([
      expect.objectContaining({
        kind: 'create',
        type: 'local:Server',
        name: NAME,
        id: `local:Server/${NAME}`,
      }),
    ]);
    expect(outcome?.result).toMatchObject({ ok: true, executions: 1, failed: [] });

    const status = await cliJson<StatusJson>('status', manifest);
    expect(status.code).toBe(0);
    const [endpoint] = status.json.statuses;
    expect(endpoint).toMatchObject({
      kind: 'Endpoint',
      name: NAME,
      provider: 'local',
      state: 'ready',
      resources: [{ type: 'local:Server', name: NAME, state: 'ready' }],
      details: { generation: 1 },
    });
    expect(endpoint?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    url = endpoint?.url ?? '';
    pid = Number(endpoint?.details?.pid);
    expect(processAlive(pid)).toBe(true);

    const list = await cliJson<{ deployments: { name: string; state: string; url?: string }[] }>('list');
    expect(list.json.deployments).toContainEqual(
      expect.objectContaining({ name: NAME, state: 'ready', url }),
    );
  });

  it('re-applying the unchanged manifest reports no changes and touches nothing', async () => {
    const again = await cliJson<ApplyJson>('apply', manifest, '--yes');
    expect(again.code).toBe(0);
    const [outcome] = again.json.outcomes;
    expect(outcome?.plan.actions.map((a) => a.kind)).toEqual(['noop']);
    expect(outcome?.result.executions).toBe(0);
    const [text, status] = await Promise.all([
      cli('apply', manifest, '--yes'),
      statusOf(manifest, ws.stateDir),
    ]);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/up to date, nothing to apply/);
    expect(status.details?.pid).toBe(pid);
    expect(status.details?.generation).toBe(1);
  });

  describe('predicts exactly like onnxruntime', () => {
    const v2Body = (): string =>
      JSON.stringify({
        inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
      });
    // The CLI calls are independent: they run at once (each is a process that mostly spends its time starting).
    const calls: Record<string, () => string[]> = {
      sagemakerJson: () => ['invoke', manifest, '-f', join(ws.dir, 'rows.json')],
      sagemakerCsvIn: () => ['invoke', manifest, '-f', join(ws.dir, 'rows.csv')],
      sagemakerCsvOut: () => ['invoke', manifest, '-f', join(ws.dir, 'rows.csv'), '--accept', 'text/csv'],
      kserveV1: () => ['invoke', manifest, '--protocol', 'kserve-v1', '-f', join(ws.dir, 'rows.json')],
      v2: () => ['invoke', manifest, '--protocol', 'v2', '-d', v2Body()],
      vertex: () => ['invoke', manifest, '--protocol', 'vertex', '-f', join(ws.dir, 'rows.json')],
      azure: () => ['invoke', manifest, '--protocol', 'azure', '-d', JSON.stringify({ input_data: rows })],
    };
    const results: Record<string, CliResult & { json: InvokeJson }> = {};
    const invoked = (key: string): CliResult & { json: InvokeJson } => {
      const result = results[key];
      if (result === undefined) throw new Error(`no result for ${key}`);
      expect(result.code, result.stderr).toBe(0);
      expect(result.json).toMatchObject({ ok: true, status: 200 });
      return result;
    };

    beforeAll(async () => {
      await Promise.all(
        Object.entries(calls).map(async ([key, args]) => {
          results[key] = await cliJson<InvokeJson>(...args());
        }),
      );
    });

    it('sagemaker /invocations, JSON in and out', async () => {
      const result = invoked('sagemakerJson');
      expect(result.json.contentType).toBe('application/json');
      expect(typeof result.json.latencyMs).toBe('number');
      expect(comparePredictions(predictionsOf(result.json.body), expected)).toBeUndefined();
      const raw = await postJson(url, '/invocations', rows); // a bare array of instances works too
      expect(raw.status).toBe(200);
      expect(comparePredictions(predictionsOf(JSON.parse(raw.text)), expected)).toBeUndefined();
    });

    it('sagemaker /invocations, CSV in, JSON out and CSV out (--accept text/csv)', async () => {
      expect(
        comparePredictions(predictionsOf(invoked('sagemakerCsvIn').json.body), expected),
      ).toBeUndefined();
      const csvOut = invoked('sagemakerCsvOut');
      expect(csvOut.json.contentType).toMatch(/^text\/csv/);
      expect(comparePredictions(predictionsFromCsv(String(csvOut.json.body)), expected)).toBeUndefined();
      const raw = await http(url, '/invocations', {
        body: await readFile(join(ws.dir, 'rows.csv')),
        headers: { 'content-type': 'text/csv', accept: 'text/csv' },
      });
      expect(raw.status).toBe(200);
      expect(raw.headers['content-type']).toMatch(/^text\/csv/);
      expect(comparePredictions(predictionsFromCsv(raw.text), expected)).toBeUndefined();
    });

    it('kserve v1 /v1/models/<name>:predict', async () => {
      expect(comparePredictions(predictionsOf(invoked('kserveV1').json.body), expected)).toBeUndefined();
      const raw = await postJson(url, `/v1/models/${NAME}:predict`, { instances: rows });
      expect(raw.status).toBe(200);
      expect(comparePredictions(predictionsOf(JSON.parse(raw.text)), expected)).toBeUndefined();
    });

    it('open inference protocol v2 /v2/models/<name>/infer', async () => {
      const answer = invoked('v2').json.body as V2Response;
      expect(answer.model_name).toBe(NAME);
      expect(comparePredictions(predictionsFromV2(answer, rows.length), expected)).toBeUndefined();
      const raw = await postJson(url, `/v2/models/${NAME}/infer`, v2Body());
      expect(raw.status).toBe(200);
      const rawAnswer = JSON.parse(raw.text) as V2Response;
      expect(comparePredictions(predictionsFromV2(rawAnswer, rows.length), expected)).toBeUndefined();
    });

    it('vertex /predict {"instances"}', async () => {
      expect(comparePredictions(predictionsOf(invoked('vertex').json.body), expected)).toBeUndefined();
      const raw = await postJson(url, '/predict', { instances: rows });
      expect(raw.status).toBe(200);
      expect(comparePredictions(predictionsOf(JSON.parse(raw.text)), expected)).toBeUndefined();
    });

    it('azure /score {"input_data"} and {"data"}', async () => {
      expect(comparePredictions(predictionsOf(invoked('azure').json.body), expected)).toBeUndefined();
      const raw = await postJson(url, '/score', { data: rows });
      expect(raw.status).toBe(200);
      expect(comparePredictions(predictionsOf(JSON.parse(raw.text)), expected)).toBeUndefined();
    });
  });

  describe('exit codes', () => {
    it('an invalid manifest exits 2 with a located error, for validate, plan and apply', async () => {
      const invalid = await writeManifest(join(ws.dir, 'invalid.yaml'), 'endpoint', [
        [/name: iris$/m, `name: ${NAME}-invalid`],
        ['payloadMB: 6', 'payloadMB: -1'],
      ]);
      const [validate, plan, apply] = await Promise.all([
        cli('validate', invalid),
        cli('plan', invalid),
        cliJson<ErrorJson>('apply', invalid, '--yes'),
      ]);
      for (const result of [validate, plan]) {
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toMatch(/invalid\.yaml:\d+:\d+ error spec\.limits\.payloadMB: /);
      }
      expect(apply.code).toBe(2);
      expect(apply.json).toMatchObject({ ok: false, error: { kind: 'invalidInput' } });
      expect(apply.json.error.message).toMatch(/invalid\.yaml:\d+:\d+ error spec\.limits\.payloadMB: /);
      const status = await statusOf(manifest, ws.stateDir);
      expect(status.details?.pid).toBe(pid); // nothing of ours was touched
    });

    it('invoking an endpoint that is not deployed exits 3 (notFound) and says how to deploy it', async () => {
      const other = await writeManifest(join(ws.dir, 'other.yaml'), 'endpoint', [
        [/name: iris$/m, `name: ${NAME}-other`],
      ]);
      const [json, text, status] = await Promise.all([
        cliJson<ErrorJson>('invoke', other, '-f', join(ws.dir, 'rows.json')),
        cli('invoke', other, '-f', join(ws.dir, 'rows.json')),
        statusOf(other, ws.stateDir),
      ]);
      expect(json.code).toBe(3);
      expect(json.json.error).toMatchObject({
        kind: 'notFound',
        message: expect.stringMatching(/is not deployed/),
      });
      expect(json.json.error.hint).toMatch(/modelport apply/);
      expect(text.code).toBe(3);
      expect(text.stderr).toMatch(/not deployed/);
      expect(status.state).toBe('absent');
    });
  });

  describe('bad requests get a clear 4xx and the server keeps serving', () => {
    const bad: { what: string; body: string; status: number; message: RegExp }[] = [
      {
        what: 'wrong shape',
        body: '{"instances":[[5.1,3.5,1.4]]}',
        status: 400,
        message: /expected 4 values/,
      },
      { what: 'strings', body: '{"instances":[["a","b","c","d"]]}', status: 400, message: /float32/ },
      { what: 'malformed JSON', body: '{"instances":[[5.1,3.5,', status: 400, message: /malformed JSON/ },
      { what: 'no instances', body: '{"rows":[[5.1,3.5,1.4,0.2]]}', status: 400, message: /instances/ },
    ];

    it('through the CLI: each exits 2 with the HTTP status and the server message', async () => {
      const results = await Promise.all(
        bad.map(({ body }) => cliJson<InvokeJson>('invoke', manifest, '-d', body)),
      );
      for (const [i, { what, status, message }] of bad.entries()) {
        const result = results[i];
        expect(result?.code, what).toBe(2);
        expect(result?.json, what).toMatchObject({ ok: false, status });
        expect((result?.json.body as { error?: string }).error, what).toMatch(message);
      }
      const text = await cli('invoke', manifest, '-d', bad[0]?.body ?? '');
      expect(text.code).toBe(2);
      expect(text.stderr).toMatch(/HTTP 400: .*expected 4 values/);
      await stillServing();
    });

    it('through the CLI: a payload over the limit is refused before it is sent', async () => {
      const big = join(ws.dir, 'big.json');
      await writeFile(big, JSON.stringify({ instances: Array.from({ length: 450_000 }, () => rows[0]) }));
      const result = await cliJson<ErrorJson>('invoke', manifest, '-f', big);
      expect(result.code).toBe(2);
      expect(result.json.error.kind).toBe('invalidInput');
      expect(result.json.error.message).toMatch(/above the 6 MB limit/);
      await stillServing();
    });

    it.each(bad)('raw HTTP /invocations: $what', async ({ body, status, message }) => {
      const reply = await http(url, '/invocations', {
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(reply.status).toBe(status);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect((JSON.parse(reply.text) as { error: string }).error).toMatch(message);
      await stillServing();
    });

    it.each([
      {
        what: 'v2: wrong datatype',
        path: () => `/v2/models/${NAME}/infer`,
        body: { inputs: [{ name: 'input', shape: [1, 4], datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] }] },
        status: 400,
        message: /datatype/,
      },
      {
        what: 'v2: data does not fill the shape',
        path: () => `/v2/models/${NAME}/infer`,
        body: { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3] }] },
        status: 400,
        message: /needs 8 values/,
      },
      {
        what: 'kserve v1: unknown model name',
        path: () => '/v1/models/no-such-model:predict',
        body: { instances: [[5.1, 3.5, 1.4, 0.2]] },
        status: 404,
        message: /no-such-model.*not served/,
      },
      {
        what: 'v2: unknown model name',
        path: () => '/v2/models/no-such-model/infer',
        body: { inputs: [] },
        status: 404,
        message: /not served/,
      },
      {
        what: 'unknown route',
        path: () => '/no/such/route',
        body: {},
        status: 404,
        message: /no route/,
      },
    ])('raw HTTP: $what', async ({ path, body, status, message }) => {
      const reply = await postJson(url, path(), body);
      expect(reply.status).toBe(status);
      expect((JSON.parse(reply.text) as { error: string }).error).toMatch(message);
      await stillServing();
    });

    it('raw HTTP: a body declared over the payload limit gets 413 before it is sent', async () => {
      // Only the headers go: a client that also streams the body races the server's close (see the report).
      const reply = await sendOversized(url, '/invocations', 7 * 1024 * 1024, 'declared');
      expect(reply.status).toBe(413);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect((JSON.parse(reply.text) as { error: string }).error).toMatch(/exceeds the limit of 6 MiB/);
      await stillServing();
    });
  });

  it('destroys: status says absent, and the server processes are gone', async () => {
    const workers = childPids(pid);
    expect(workers.length).toBeGreaterThan(0); // the runtime worker(s) under the supervisor
    const destroy = await cliJson<ApplyJson>('destroy', manifest, '--yes');
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(destroy.json.outcomes[0]?.plan.actions.map((a) => a.kind)).toEqual(['delete']);
    expect(processAlive(pid)).toBe(false);
    for (const worker of workers) expect(processAlive(worker)).toBe(false);
    const [status, plan, invoke] = await Promise.all([
      statusOf(manifest, ws.stateDir),
      cliJson<PlanJson>('plan', manifest, '--destroy'),
      cli('invoke', manifest, '-f', join(ws.dir, 'rows.json')),
    ]);
    expect(status.state).toBe('absent');
    expect(status.url).toBeUndefined();
    expect(plan.json.plans[0]?.actions).toEqual([]);
    expect(invoke.code).toBe(3);
    await expect(http(url, '/ping')).rejects.toThrow(/ECONNREFUSED/);
  });
});
