// Serves the real example model (examples/iris/model.onnx, built by examples/iris/train.mjs) and checks
// every protocol against a direct onnxruntime session.run on the same rows.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './http/server.js';
import { createJsonLogger } from './logger.js';
import { OnnxModel } from './onnx-model.js';
import { PACKAGE_DIR } from './testing/built-dist.js';
import { call, postJson } from './testing/http-client.js';
import type { V2InferResponse } from './v2-protocol.js';

const EXAMPLE = join(PACKAGE_DIR, '../../examples/iris');
const MODEL = join(EXAMPLE, 'model.onnx');

type Prediction = { probabilities: number[]; label: number };

describe.skipIf(!existsSync(MODEL))('examples/iris/model.onnx through every protocol', () => {
  let session: ort.InferenceSession;
  let model: OnnxModel;
  let server: RunningServer;
  let rows: number[][];
  let expected: Prediction[];

  beforeAll(async () => {
    const payload = JSON.parse(readFileSync(join(EXAMPLE, 'payload.json'), 'utf8')) as {
      instances: number[][];
    };
    rows = [...payload.instances, [4.9, 3.0, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5], [5.7, 2.8, 4.1, 1.3]];
    session = await ort.InferenceSession.create(MODEL);
    const results = await session.run({
      [session.inputNames[0] as string]: new ort.Tensor('float32', Float32Array.from(rows.flat()), [
        rows.length,
        4,
      ]),
    });
    const probabilities = results['probabilities']?.data as Float32Array;
    const labels = results['label']?.data as BigInt64Array;
    expected = rows.map((_, i) => ({
      probabilities: Array.from(probabilities.subarray(i * 3, i * 3 + 3)),
      label: Number(labels[i]),
    }));
    model = await OnnxModel.load(MODEL, { name: 'iris' });
    server = await startServer({ model, port: 0, logger: createJsonLogger({ level: 'silent' }) });
  });

  afterAll(async () => {
    await server?.close(1000);
    await model?.close();
    await session?.release();
  });

  const expectMatches = (predictions: unknown) => {
    const actual = predictions as Prediction[];
    expect(actual).toHaveLength(expected.length);
    actual.forEach((p, i) => {
      const e = expected[i] as Prediction;
      expect(p.label).toBe(e.label);
      p.probabilities.forEach((v, j) => expect(v).toBeCloseTo(e.probabilities[j] as number, 6));
    });
  };

  it('predicts as onnxruntime does, over SageMaker JSON and CSV', async () => {
    expect(new Set(expected.map((e) => e.label)).size).toBe(3); // the rows cover all three classes
    expectMatches(
      ((await postJson(server.url, '/invocations', { instances: rows })).json as { predictions: unknown })
        .predictions,
    );
    const csv = await call(server.url, '/invocations', {
      body: rows.map((r) => r.join(',')).join('\n'),
      headers: { 'content-type': 'text/csv', accept: 'text/csv' },
    });
    const fromCsv = csv.text
      .trim()
      .split('\n')
      .map((line) => {
        const v = line.split(',').map(Number);
        return { probabilities: v.slice(0, 3), label: v[3] };
      });
    expectMatches(fromCsv);
  });

  it('predicts over KServe v1, Vertex AI and Azure ML', async () => {
    for (const path of ['/v1/models/iris:predict', '/predict', '/score']) {
      const reply = await postJson(server.url, path, { instances: rows });
      expect(reply.status, path).toBe(200);
      expectMatches((reply.json as { predictions: unknown }).predictions);
    }
  });

  it('infers over the Open Inference Protocol v2', async () => {
    const reply = await postJson(server.url, '/v2/models/iris/infer', {
      inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
    });
    expect(reply.status).toBe(200);
    const outputs = (reply.json as V2InferResponse).outputs;
    const probabilities = outputs.find((o) => o.name === 'probabilities')?.data as number[];
    const labels = outputs.find((o) => o.name === 'label')?.data as number[];
    expectMatches(
      rows.map((_, i) => ({ probabilities: probabilities.slice(i * 3, i * 3 + 3), label: labels[i] })),
    );
  });
});
