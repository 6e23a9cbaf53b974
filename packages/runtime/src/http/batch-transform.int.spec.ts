// SageMaker Batch Transform against /invocations: the job's ContentType and Accept on every mini-batch,
// several records per body (SplitType Line, BatchStrategy MultiRecord), and GET /execution-parameters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createJsonLogger } from '../logger.js';
import { OnnxModel } from '../onnx-model.js';
import { call } from '../testing/http-client.js';
import { classify, writeClassifierModel } from '../testing/test-models.js';
import { startServer, type RunningServer } from './server.js';

const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [-1, 2, 0.5, 4],
];
const jsonLines = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const csv = `${rows.map((r) => r.join(',')).join('\n')}\n`;
type Prediction = { probabilities: number[]; label: number };

let dir: string;
let model: OnnxModel;
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-transform-'));
  model = await OnnxModel.load(writeClassifierModel(dir), { name: 'iris' });
  server = await startServer({
    model,
    port: 0,
    logger: createJsonLogger({ level: 'silent' }),
    maxPayloadBytes: 20 * 1024 * 1024,
    maxConcurrentTransforms: 4,
  });
});

afterAll(async () => {
  await server?.close(1000);
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

const invoke = (body: string, contentType: string, accept?: string) =>
  call(server.url, '/invocations', {
    body,
    headers: { 'content-type': contentType, ...(accept === undefined ? {} : { accept }) },
  });

function expectPrediction(actual: unknown, row: readonly number[]): void {
  const p = actual as Prediction;
  const expected = classify(row);
  expect(p.label).toBe(expected.label);
  p.probabilities.forEach((v, j) => expect(v).toBeCloseTo(expected.probabilities[j] as number, 6));
}

/** One JSON prediction per line, newline-terminated, in input order (what AssembleWith: Line expects). */
function expectJsonLines(text: string, instances: readonly (readonly number[])[]): void {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  expect(lines).toHaveLength(instances.length);
  lines.forEach((line, i) => expectPrediction(JSON.parse(line), instances[i] as number[]));
}

describe('Batch Transform on /invocations', () => {
  it('takes a multi-record JSON Lines body under every JSON Lines type and answers JSON Lines', async () => {
    for (const type of [
      'application/jsonlines',
      'application/jsonl',
      'application/x-ndjson',
      'application/x-jsonlines',
    ]) {
      const reply = await invoke(jsonLines, type, type);
      expect(reply.status, type).toBe(200);
      expect(reply.headers['content-type']).toBe(type);
      expectJsonLines(reply.text, rows);
    }
  });

  it('ignores blank lines and CRLF, and reads a last line without its newline', async () => {
    const body = `\n${JSON.stringify(rows[0])}\r\n\r\n  \n${JSON.stringify(rows[1])}`;
    const reply = await invoke(body, 'application/jsonlines', 'application/jsonlines');
    expect(reply.status).toBe(200);
    expectJsonLines(reply.text, rows.slice(0, 2));
  });

  it('mixes formats: CSV in, JSON Lines out; JSON Lines in, CSV or JSON out', async () => {
    const csvIn = await invoke(csv, 'text/csv', 'application/jsonlines');
    expect(csvIn.status).toBe(200);
    expectJsonLines(csvIn.text, rows);

    const csvOut = await invoke(jsonLines, 'application/jsonlines', 'text/csv');
    expect(csvOut.status).toBe(200);
    expect(csvOut.headers['content-type']).toBe('text/csv');
    const asCsv = await invoke(csv, 'text/csv', 'text/csv');
    expect(csvOut.text).toBe(asCsv.text);
    expect(csvOut.text.trimEnd().split('\n')).toHaveLength(rows.length);

    const jsonOut = await invoke(jsonLines, 'application/jsonlines', 'application/json');
    expect(jsonOut.status).toBe(200);
    expect(jsonOut.headers['content-type']).toBe('application/json');
    const predictions = (jsonOut.json as { predictions: unknown[] }).predictions;
    predictions.forEach((p, i) => expectPrediction(p, rows[i] as number[]));
    const fromJson = await invoke(JSON.stringify({ instances: rows }), 'application/json');
    expect(jsonOut.text).toBe(fromJson.text);

    const jsonToLines = await invoke(JSON.stringify(rows), 'application/json', 'application/jsonlines');
    expect(jsonToLines.text).toBe(csvIn.text);
  });

  it('takes any JSON value a batch file line may hold, such as objects keyed by input name', async () => {
    const body = `${JSON.stringify({ input: rows[0] })}\n`;
    const reply = await invoke(body, 'application/jsonlines', 'application/jsonlines');
    expect(reply.status).toBe(200);
    expectJsonLines(reply.text, [rows[0] as number[]]);
  });

  it('names the line of a bad record', async () => {
    const reply = await invoke(`[1,2,3,4]\n\n[1,2,\n`, 'application/jsonlines', 'application/jsonlines');
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ code: 'malformed_json' });
    expect((reply.json as { error: string }).error).toMatch(/^line 3, malformed JSON at column 6: /);
    const empty = await invoke('\n\n', 'application/jsonlines');
    expect(empty.status).toBe(400);
    expect((empty.json as { error: string }).error).toBe('expected a non-empty array of instances');
  });

  it('answers 406 naming the accepted types for an Accept it cannot produce', async () => {
    const reply = await invoke(jsonLines, 'application/jsonlines', 'application/x-protobuf');
    expect(reply.status).toBe(406);
    expect((reply.json as { error: string }).error).toBe(
      'cannot answer with "application/x-protobuf"; accepted: application/json, text/csv, application/jsonlines, application/jsonl, application/x-ndjson, application/x-jsonlines',
    );
  });

  it('answers GET /execution-parameters in the shape SageMaker documents', async () => {
    const reply = await call(server.url, '/execution-parameters');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    // 20 MiB limit: MaxPayloadInMB 20, and 4 × 20 ≤ 100.
    expect(reply.json).toEqual({
      MaxConcurrentTransforms: 4,
      BatchStrategy: 'MULTI_RECORD',
      MaxPayloadInMB: 20,
    });
    expect((await call(server.url, '/execution-parameters', { method: 'POST', body: '{}' })).status).toBe(
      405,
    );
  });
});
