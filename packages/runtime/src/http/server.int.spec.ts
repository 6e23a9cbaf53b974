import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RequestError } from '../errors.js';
import { createJsonLogger } from '../logger.js';
import { OnnxModel, type ServedModel } from '../onnx-model.js';
import { call, postJson } from '../testing/http-client.js';
import { classify, writeClassifierModel, writeMultiInputModel } from '../testing/test-models.js';
import type { V2InferRequest, V2InferResponse } from '../v2-protocol.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';

const silent = createJsonLogger({ level: 'silent' });
const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [-1, 2, 0.5, 4],
];
type Prediction = { probabilities: number[]; label: number };

let dir: string;
let model: OnnxModel;
let server: RunningServer;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-http-'));
  model = await OnnxModel.load(writeClassifierModel(dir), { name: 'iris' });
  server = await startServer({ model, port: 0, logger: silent });
  base = server.url;
});

afterAll(async () => {
  await server?.close(1000);
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

function expectPredictions(actual: unknown, instances: number[][]): void {
  const predictions = actual as Prediction[];
  expect(predictions).toHaveLength(instances.length);
  predictions.forEach((p, i) => {
    const expected = classify(instances[i] as number[]);
    expect(p.label).toBe(expected.label);
    p.probabilities.forEach((v, j) => expect(v).toBeCloseTo(expected.probabilities[j] as number, 6));
  });
}

/** A model whose predictions take `delayMs`, to hold requests in flight. */
function slowModel(delayMs: number): ServedModel {
  return {
    name: 'slow',
    version: '1',
    signature: {
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
    },
    async predictInstances(instances: unknown[]) {
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      return instances;
    },
    inferV2(_request: V2InferRequest): Promise<V2InferResponse> {
      throw new RequestError('not supported by this fake');
    },
  };
}

async function withServer<T>(
  opts: Partial<ServerOptions> & { model: ServedModel },
  fn: (s: RunningServer) => Promise<T>,
) {
  const s = await startServer({ port: 0, logger: silent, ...opts });
  try {
    return await fn(s);
  } finally {
    await s.close(1000);
  }
}

describe('SageMaker protocol', () => {
  it('answers /ping', async () => {
    const reply = await call(base, '/ping');
    expect(reply.status).toBe(200);
  });

  it('predicts {"instances"} and bare arrays sent as JSON', async () => {
    const reply = await postJson(base, '/invocations', { instances: rows });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expectPredictions((reply.json as { predictions: unknown }).predictions, rows);
    const bare = await postJson(base, '/invocations', rows);
    expect(bare.json).toEqual(reply.json);
  });

  it('takes text/csv rows and answers JSON, or CSV when asked', async () => {
    const csv = rows.map((r) => r.join(',')).join('\r\n') + '\n';
    const json = await call(base, '/invocations', { body: csv, headers: { 'content-type': 'text/csv' } });
    expect(json.status).toBe(200);
    expectPredictions((json.json as { predictions: unknown }).predictions, rows);

    const asCsv = await call(base, '/invocations', {
      body: csv,
      headers: { 'content-type': 'text/csv', accept: 'text/csv' },
    });
    expect(asCsv.status).toBe(200);
    expect(asCsv.headers['content-type']).toBe('text/csv');
    const lines = asCsv.text.trimEnd().split('\n');
    expect(lines).toHaveLength(rows.length);
    lines.forEach((line, i) => {
      const values = line.split(',').map(Number);
      const expected = classify(rows[i] as number[]);
      expect(values).toHaveLength(4);
      values.slice(0, 3).forEach((v, j) => expect(v).toBeCloseTo(expected.probabilities[j] as number, 6));
      expect(values[3]).toBe(expected.label);
    });

    const jsonInCsvOut = await postJson(base, '/invocations', { instances: rows }, { accept: 'text/csv' });
    expect(jsonInCsvOut.text).toBe(asCsv.text);
  });

  it('rejects a CSV cell that is not a number, with line and column', async () => {
    const reply = await call(base, '/invocations', {
      body: '1,2,3,4\n1,2,x,4\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: 'line 2, column 3: "x" is not a number', code: 'invalid_input' });
  });

  it('answers 406 for an Accept it cannot produce', async () => {
    const reply = await postJson(
      base,
      '/invocations',
      { instances: rows },
      { accept: 'application/x-protobuf' },
    );
    expect(reply.status).toBe(406);
    expect((reply.json as { error: string }).error).toMatch(/accepted: application\/json, text\/csv/);
  });
});

describe('KServe v1 protocol', () => {
  it('reports the model and predicts', async () => {
    expect((await call(base, '/v1/models/iris')).json).toEqual({ name: 'iris', ready: true });
    const reply = await postJson(base, '/v1/models/iris:predict', { instances: rows });
    expect(reply.status).toBe(200);
    expectPredictions((reply.json as { predictions: unknown }).predictions, rows);
  });

  it('answers 404 for another model name', async () => {
    for (const [method, path] of [
      ['GET', '/v1/models/x'],
      ['POST', '/v1/models/x:predict'],
      ['GET', '/v2/models/x'],
      ['POST', '/v2/models/x/infer'],
    ] as const) {
      const reply = await call(base, path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(reply.status).toBe(404);
      expect(reply.json).toEqual({
        error: 'model "x" is not served here; this server serves "iris"',
        code: 'not_found',
      });
    }
  });
});

describe('Open Inference Protocol v2', () => {
  it('answers health and metadata', async () => {
    expect((await call(base, '/v2/health/live')).status).toBe(200);
    expect((await call(base, '/v2/health/ready')).status).toBe(200);
    expect((await call(base, '/v2/models/iris/ready')).status).toBe(200);
    const server = (await call(base, '/v2')).json as Record<string, unknown>;
    expect(server['name']).toBe('modelport-runtime');
    expect(typeof server['version']).toBe('string');
    expect((await call(base, '/v2/models/iris')).json).toEqual({
      name: 'iris',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });
    expect((await call(base, '/v2/models/iris/versions/1')).status).toBe(200);
    expect((await call(base, '/v2/models/iris/versions/7')).status).toBe(404);
  });

  it('infers', async () => {
    const reply = await postJson(base, '/v2/models/iris/infer', {
      id: 'r1',
      inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: rows.flat() }],
    });
    expect(reply.status).toBe(200);
    const body = reply.json as V2InferResponse;
    expect(body.model_name).toBe('iris');
    expect(body.model_version).toBe('1');
    expect(body.id).toBe('r1');
    const label = body.outputs.find((o) => o.name === 'label');
    expect(label).toEqual({
      name: 'label',
      shape: [3],
      datatype: 'INT64',
      data: rows.map((r) => classify(r).label),
    });
    const probabilities = body.outputs.find((o) => o.name === 'probabilities');
    expect(probabilities?.shape).toEqual([3, 3]);
    const versioned = await postJson(base, '/v2/models/iris/versions/1/infer', {
      inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: rows.flat() }],
    });
    expect((versioned.json as V2InferResponse).outputs).toEqual(body.outputs);
  });

  it('rejects a datatype mismatch', async () => {
    const reply = await postJson(base, '/v2/models/iris/infer', {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'INT64', data: [1, 2, 3, 4] }],
    });
    expect(reply.status).toBe(400);
    expect((reply.json as { error: string }).error).toMatch(/has datatype FP32, the request says "INT64"/);
  });
});

describe('Vertex AI routes', () => {
  it('serves /health and /predict by default, ignoring "parameters"', async () => {
    expect((await call(base, '/health')).status).toBe(200);
    const reply = await postJson(base, '/predict', { instances: rows, parameters: { confidence: 0.5 } });
    expect(reply.status).toBe(200);
    expectPredictions((reply.json as { predictions: unknown }).predictions, rows);
  });

  it('serves the AIP_* routes it is given', async () => {
    await withServer(
      {
        model,
        vertex: {
          healthRoute: '/v1/endpoints/1/health',
          predictRoute: '/v1/endpoints/1/deployedModels/2:predict',
        },
      },
      async (s) => {
        expect((await call(s.url, '/v1/endpoints/1/health')).status).toBe(200);
        const reply = await postJson(s.url, '/v1/endpoints/1/deployedModels/2:predict', {
          instances: [rows[0]],
        });
        expect(reply.status).toBe(200);
        expectPredictions((reply.json as { predictions: unknown }).predictions, [rows[0] as number[]]);
        expect((await postJson(s.url, '/predict', { instances: [rows[0]] })).status).toBe(404);
      },
    );
  });

  it('listens on vertex.port when no port is given', async () => {
    const probe = await startServer({ model, port: 0, logger: silent });
    const free = probe.port;
    await probe.close();
    const s = await startServer({ model, logger: silent, vertex: { port: free } });
    try {
      expect(s.port).toBe(free);
    } finally {
      await s.close();
    }
  });
});

describe('Azure ML routes', () => {
  it('answers GET / and scores instances, data and input_data', async () => {
    expect((await call(base, '/')).status).toBe(200);
    const bodies = [
      { instances: rows },
      { data: rows },
      { input_data: rows },
      { input_data: { columns: ['a', 'b', 'c', 'd'], index: [0, 1, 2], data: rows } },
    ];
    for (const body of bodies) {
      const reply = await postJson(base, '/score', body);
      expect(reply.status).toBe(200);
      expectPredictions((reply.json as { predictions: unknown }).predictions, rows);
    }
    expect((await postJson(base, '/score', { rows })).status).toBe(400);
  });
});

describe('multi-input models over HTTP', () => {
  it('takes objects keyed by input name', async () => {
    const multi = await OnnxModel.load(writeMultiInputModel(dir));
    try {
      await withServer({ model: multi }, async (s) => {
        const reply = await postJson(s.url, '/v1/models/multi:predict', {
          instances: [{ x: [1, 2], k: [3] }],
        });
        expect(reply.json).toEqual({ predictions: [{ y: [3, 6], k_plus_one: [4] }] });
      });
    } finally {
      await multi.close();
    }
  });
});

describe('errors', () => {
  it('rejects a wrong shape and wrong dtypes with 400, naming the instance', async () => {
    const shape = await postJson(base, '/invocations', { instances: [rows[0], [1, 2, 3]] });
    expect(shape.status).toBe(400);
    expect(shape.json).toEqual({
      error: 'instance 1: expected 4 values for input "input" (shape [-1,4]), got 3',
      code: 'invalid_input',
    });
    const strings = await postJson(base, '/v1/models/iris:predict', { instances: [['a', 'b', 'c', 'd']] });
    expect(strings.status).toBe(400);
    expect((strings.json as { error: string }).error).toBe(
      'instance 0: input "input" expects float32 numbers, got string "a" at [0]',
    );
    expect((await postJson(base, '/v1/models/iris:predict', { inputs: rows })).status).toBe(400);
  });

  it('rejects malformed JSON with the position', async () => {
    const reply = await call(base, '/invocations', {
      body: '{"instances": [[1, 2, 3, 4],\n  [5, 6 7, 8]]}',
      headers: { 'content-type': 'application/json' },
    });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      error: "malformed JSON at position 37 (line 2, column 9): expected ',' or ']', unexpected \"7\"",
      code: 'malformed_json',
    });
    const truncated = await call(base, '/predict', {
      body: '{"instances": [[1,',
      headers: { 'content-type': 'application/json' },
    });
    expect((truncated.json as { error: string }).error).toBe(
      'malformed JSON at position 18 (line 1, column 19): unexpected end of input',
    );
  });

  it('rejects unsupported content types with 415', async () => {
    const reply = await call(base, '/invocations', {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(reply.status).toBe(415);
    expect((reply.json as { code: string }).code).toBe('unsupported_media_type');
    const csvOnV1 = await call(base, '/v1/models/iris:predict', {
      body: '1,2,3,4',
      headers: { 'content-type': 'text/csv' },
    });
    expect(csvOnV1.status).toBe(415);
  });

  it('answers 404 for unknown routes and 405 for wrong methods', async () => {
    const missing = await call(base, '/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'no route for GET /nope', code: 'not_found' });
    const wrong = await call(base, '/invocations');
    expect(wrong.status).toBe(405);
    expect(wrong.headers['allow']).toBe('POST');
    expect((wrong.json as { code: string }).code).toBe('method_not_allowed');
    const wrongPost = await call(base, '/ping', { method: 'POST', body: '{}' });
    expect(wrongPost.status).toBe(405);
    expect(wrongPost.headers['allow']).toBe('GET, HEAD');
  });

  it('answers 413 for a body over the limit, reads the rest away instead of resetting, and keeps serving', async () => {
    await withServer({ model, maxPayloadBytes: 1024 }, async (s) => {
      const big = JSON.stringify({ instances: Array.from({ length: 100 }, () => rows[0]) });
      expect(big.length).toBeGreaterThan(1024);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const declared = await call(s.url, '/invocations', {
          body: big,
          headers: { 'content-type': 'application/json' },
          agent,
        });
        expect(declared.status).toBe(413);
        // The connection stays usable: closing while the client still sends would reset it (EPIPE).
        expect(declared.headers['connection']).not.toBe('close');
        expect((declared.json as { error: string }).error).toMatch(/exceeds the limit of 1 KiB/);
        const chunked = await call(s.url, '/invocations', {
          body: big,
          chunked: true,
          headers: { 'content-type': 'application/json' },
          agent,
        });
        expect(chunked.status).toBe(413);
        // The same client (agent) goes on to a normal request.
        const next = await postJson(s.url, '/invocations', { instances: [rows[0]] });
        expect(next.status).toBe(200);
        const viaAgent = await call(s.url, '/ping', { agent });
        expect(viaAgent.status).toBe(200);
      } finally {
        agent.destroy();
      }
      expect(s.metrics.errors).toContainEqual({ route: '/invocations', kind: 'payload_too_large', count: 2 });
    });
  });

  it('lets a client that sends a whole oversized body read the 413 (no EPIPE or reset)', async () => {
    await withServer({ model, maxPayloadBytes: 1024 }, async (s) => {
      const body = Buffer.alloc(2 * 1024 * 1024, 0x20);
      for (let i = 0; i < 10; i++) {
        const reply = await call(s.url, '/invocations', {
          body,
          headers: { 'content-type': 'application/json' },
        });
        expect(reply.status).toBe(413);
      }
    });
  });

  it('refuses an oversized body announced with Expect: 100-continue before it is sent', async () => {
    await withServer({ model, maxPayloadBytes: 1024 }, async (s) => {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(s.port, '127.0.0.1', () => {
          socket.write(
            'POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              'Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n',
          );
        });
        let text = '';
        socket.on('data', (c: Buffer) => (text += c.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 413/);
      expect(reply).not.toMatch(/100 Continue/);
      const small = await call(s.url, '/invocations', {
        body: JSON.stringify({ instances: [rows[0]] }),
        headers: { 'content-type': 'application/json', expect: '100-continue' },
      });
      expect(small.status).toBe(200);
    });
  });

  it('answers 504 when the request takes longer than the timeout, and keeps serving', async () => {
    await withServer({ model: slowModel(5000), requestTimeoutMs: 100 }, async (s) => {
      const started = Date.now();
      const reply = await postJson(s.url, '/invocations', { instances: [[1]] });
      expect(reply.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(4000); // long before the model answers
      expect(reply.json).toEqual({ error: 'the request took longer than 100 ms', code: 'timeout' });
      expect((await call(s.url, '/ping')).status).toBe(200);
    });
  });

  it('answers 504 when the client stops sending its body', async () => {
    await withServer({ model, requestTimeoutMs: 150 }, async (s) => {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(s.port, '127.0.0.1', () => {
          socket.write(
            'POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inst',
          );
        });
        let text = '';
        socket.on('data', (c: Buffer) => (text += c.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 504/);
      expect(reply).toMatch(/connection: close/i);
    });
  });

  it('answers malformed HTTP with a JSON 400', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).toMatch(/"code":"invalid_input"/);
    expect((await call(base, '/ping')).status).toBe(200);
  });
});

describe('metrics', () => {
  it('renders Prometheus text that counts requests, errors and durations', async () => {
    await withServer({ model }, async (s) => {
      for (let i = 0; i < 3; i++)
        expect((await postJson(s.url, '/invocations', { instances: rows })).status).toBe(200);
      expect((await postJson(s.url, '/invocations', { instances: [[1]] })).status).toBe(400);
      expect((await call(s.url, '/nope')).status).toBe(404);

      const reply = await call(s.url, '/metrics');
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const samples = new Map<string, number>();
      for (const line of reply.text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        expect(match, `unparseable line ${line}`).not.toBeNull();
        samples.set(match?.[1] ?? '', Number(match?.[2]));
      }
      expect(samples.get('modelport_requests_total{route="/invocations",code="200"}')).toBe(3);
      expect(samples.get('modelport_requests_total{route="/invocations",code="400"}')).toBe(1);
      expect(samples.get('modelport_requests_total{route="unmatched",code="404"}')).toBe(1);
      expect(samples.get('modelport_request_errors_total{route="/invocations",kind="invalid_input"}')).toBe(
        1,
      );
      expect(samples.get('modelport_request_errors_total{route="unmatched",kind="not_found"}')).toBe(1);
      expect(samples.get('modelport_request_duration_seconds_count{route="/invocations"}')).toBe(4);
      expect(samples.get('modelport_request_duration_seconds_bucket{route="/invocations",le="+Inf"}')).toBe(
        4,
      );
      expect(samples.get('modelport_request_duration_seconds_sum{route="/invocations"}')).toBeGreaterThan(0);
      let previous = 0;
      for (const [key, value] of samples) {
        if (!key.startsWith('modelport_request_duration_seconds_bucket{route="/invocations"')) continue;
        expect(value).toBeGreaterThanOrEqual(previous);
        previous = value;
      }
      expect(samples.get('modelport_inflight_requests')).toBe(1); // the scrape itself
      expect(samples.get('modelport_model_ready')).toBe(1);
      expect(reply.text).toMatch(/# TYPE modelport_request_duration_seconds histogram/);
      expect(s.metrics.requests).toContainEqual({ route: '/invocations', code: 200, count: 3 });
    });
  });
});

describe('logging', () => {
  it('logs requests at debug only', async () => {
    const capture = (level: 'info' | 'debug') => {
      const lines: Record<string, unknown>[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n'))
            if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      return { lines, logger: createJsonLogger({ level, stream }) };
    };
    for (const level of ['info', 'debug'] as const) {
      const { lines, logger } = capture(level);
      await withServer({ model, logger }, async (s) => {
        await postJson(s.url, '/invocations', { instances: rows });
        await postJson(s.url, '/invocations', { instances: [[1]] });
      });
      const requestLines = lines.filter((l) => l['msg'] === 'request');
      expect(requestLines).toHaveLength(level === 'debug' ? 2 : 0);
      expect(lines.some((l) => l['msg'] === 'ready' && l['level'] === 'info')).toBe(true);
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request, refuses new connections, then closes', async () => {
    const s = await startServer({ model: slowModel(300), port: 0, logger: silent });
    const inflight = postJson(s.url, '/invocations', { instances: [[7]] });
    while (s.metrics.inflight === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = s.close(5000);
    const refused = await call(s.url, '/ping').then(
      () => 'answered',
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(refused).toBe('ECONNREFUSED');
    const reply = await inflight;
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ predictions: [[7]] });
    expect(reply.headers['connection']).toBe('close');
    await closed;
    expect(s.metrics.ready).toBe(false);
  });

  it('reports not-ready on a request that arrives while draining', async () => {
    const s = await startServer({ model: slowModel(300), port: 0, logger: silent });
    const inflight = postJson(s.url, '/invocations', { instances: [[1]] });
    while (s.metrics.inflight === 0) await new Promise((r) => setTimeout(r, 5));
    // A second connection has started a /ping (headers not finished) when the drain begins.
    const socket = connect(s.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /ping HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const closed = s.close(5000);
    const text = await new Promise<string>((resolve) => {
      let buffer = '';
      socket.on('data', (c: Buffer) => (buffer += c.toString()));
      socket.on('close', () => resolve(buffer));
      socket.write('\r\n');
    });
    expect(text).toMatch(/^HTTP\/1\.1 503/);
    expect(text).toMatch(/"code":"unavailable"/);
    expect((await inflight).status).toBe(200);
    await closed;
  });

  it('closes idle keep-alive sockets without waiting for their timeout', async () => {
    const s = await startServer({ model, port: 0, logger: silent });
    const agent = new Agent({ keepAlive: true });
    try {
      expect((await call(s.url, '/ping', { agent })).status).toBe(200);
      const started = Date.now();
      await s.close(30_000);
      expect(Date.now() - started).toBeLessThan(10_000); // not the 65 s keep-alive timeout, not the grace
    } finally {
      agent.destroy();
    }
  });

  it('gives up on requests that outlast the grace period', async () => {
    const s = await startServer({ model: slowModel(30_000), port: 0, logger: silent });
    const inflight = postJson(s.url, '/invocations', { instances: [[1]] }).then(
      (r) => r.status,
      (e: NodeJS.ErrnoException) => e.code,
    );
    while (s.metrics.inflight === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await s.close(100);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await inflight).toBe('ECONNRESET');
  });
});
