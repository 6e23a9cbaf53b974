// The server listens before its model is loaded: liveness passes at once, readiness and predictions wait.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createJsonLogger } from '../logger.js';
import { OnnxModel, type ServedModel } from '../onnx-model.js';
import { call, postJson } from '../testing/http-client.js';
import { writeClassifierModel } from '../testing/test-models.js';
import { startServer } from './server.js';

let dir: string;
let model: OnnxModel;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-loading-'));
  model = await OnnxModel.load(writeClassifierModel(dir), { name: 'iris' });
});

afterAll(async () => {
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createJsonLogger({ level: 'info', stream }) };
}

const READINESS = ['/ping', '/health', '/v2/health/ready', '/v2/models/iris/ready', '/v1/models/iris'];

describe('a model still loading', () => {
  it('is live at once, not ready, refuses predictions with Retry-After, then serves once loaded', async () => {
    const load = deferred<ServedModel>();
    const { lines, logger } = captureLogs();
    const s = await startServer({ model: load.promise, port: 0, logger });
    try {
      expect(s.modelState).toBe('loading');
      expect(lines.map((l) => l['msg'])).toEqual(['listening']);
      expect(lines[0]).toMatchObject({ port: s.port, url: s.url });

      expect(await call(s.url, '/v2/health/live')).toMatchObject({ status: 200, json: { live: true } });
      expect((await call(s.url, '/')).status).toBe(200);
      for (const path of READINESS) {
        const reply = await call(s.url, path);
        expect(reply.status, path).toBe(503);
        expect(reply.headers['retry-after'], path).toBe('5');
        expect(reply.json, path).toMatchObject({ status: 'starting', ready: false, code: 'unavailable' });
      }
      const predict = await postJson(s.url, '/invocations', { instances: [[1, 2, 3, 4]] });
      expect(predict.status).toBe(503);
      expect(predict.headers['retry-after']).toBe('5');
      expect(predict.json).toEqual({
        error: 'the model is still loading; retry shortly',
        code: 'unavailable',
      });
      for (const path of ['/v1/models/iris:predict', '/predict', '/score', '/v2/models/iris/infer']) {
        expect((await postJson(s.url, path, { instances: [[1, 2, 3, 4]] })).status, path).toBe(503);
      }
      expect((await call(s.url, '/v2/models/iris')).status).toBe(503);
      expect((await call(s.url, '/v2')).status).toBe(200);
      expect((await call(s.url, '/execution-parameters')).status).toBe(200);
      expect((await call(s.url, '/metrics')).text).toMatch(/^modelport_model_ready 0$/m);
      expect(s.metrics.ready).toBe(false);

      load.resolve(model);
      await s.modelReady;
      expect(s.modelState).toBe('ready');
      expect(lines.map((l) => l['msg'])).toEqual(['listening', 'ready']);
      expect(lines[1]).toMatchObject({ port: s.port, url: s.url, model: 'iris', maxPayload: '6 MiB' });
      for (const path of READINESS) expect((await call(s.url, path)).status, path).toBe(200);
      expect((await call(s.url, '/v1/models/other')).status).toBe(404);
      expect((await postJson(s.url, '/invocations', { instances: [[1, 2, 3, 4]] })).status).toBe(200);
      expect(s.metrics.ready).toBe(true);
    } finally {
      await s.close(1000);
    }
  });

  it('reports a failed load on readiness routes and rejects modelReady, staying live', async () => {
    const load = deferred<ServedModel>();
    const { lines, logger } = captureLogs();
    const s = await startServer({ model: load.promise, port: 0, logger });
    try {
      load.reject(new Error('cannot load ONNX model /m.onnx: protobuf parsing failed'));
      await expect(s.modelReady).rejects.toThrow('protobuf parsing failed');
      expect(s.modelState).toBe('failed');
      const ping = await call(s.url, '/ping');
      expect(ping.status).toBe(503);
      expect(ping.headers['retry-after']).toBeUndefined();
      expect(ping.json).toEqual({
        status: 'failed',
        ready: false,
        error: 'the model failed to load: cannot load ONNX model /m.onnx: protobuf parsing failed',
        code: 'unavailable',
      });
      const predict = await postJson(s.url, '/invocations', [[1, 2, 3, 4]]);
      expect(predict.status).toBe(503);
      expect((predict.json as { error: string }).error).toMatch(/^the model failed to load: /);
      expect((await call(s.url, '/v2/health/live')).status).toBe(200);
      expect(lines.map((l) => l['msg'])).toEqual(['listening', 'model load failed']);
    } finally {
      await s.close(1000);
    }
  });

  it('serves a model given as a value from the first request, logging listening then ready', async () => {
    const { lines, logger } = captureLogs();
    const s = await startServer({ model, port: 0, logger });
    try {
      expect(s.modelState).toBe('ready');
      expect(lines.map((l) => l['msg'])).toEqual(['listening', 'ready']);
      await s.modelReady;
      expect((await call(s.url, '/ping')).status).toBe(200);
    } finally {
      await s.close(1000);
    }
  });
});
