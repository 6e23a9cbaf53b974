// Bodies over the stream threshold are parsed as they arrive (never one string), and large responses are
// sent as they are made. A small threshold exercises the same code a 1 GB async payload takes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createJsonLogger } from '../logger.js';
import { OnnxModel } from '../onnx-model.js';
import { call, type CallOptions } from '../testing/http-client.js';
import { writeClassifierModel } from '../testing/test-models.js';
import { startServer, type RunningServer } from './server.js';

const silent = createJsonLogger({ level: 'silent' });
const rows = Array.from({ length: 40 }, (_, i) => [i / 10, 3.5 - i / 20, 1.4, (i % 7) - 3]);

let dir: string;
let model: OnnxModel;
/** Streams everything over 64 bytes. */
let streaming: RunningServer;
/** The buffered fast path, for the expected answers. */
let buffered: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-stream-'));
  model = await OnnxModel.load(writeClassifierModel(dir), { name: 'iris' });
  streaming = await startServer({ model, port: 0, logger: silent, streamThresholdBytes: 64 });
  buffered = await startServer({ model, port: 0, logger: silent });
});

afterAll(async () => {
  await streaming?.close(1000);
  await buffered?.close(1000);
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The same request to both servers: same status and body; the streamed one was sent chunked. */
async function expectSameAnswer(path: string, opts: CallOptions) {
  const expected = await call(buffered.url, path, opts);
  const actual = await call(streaming.url, path, opts);
  expect(actual.status, path).toBe(expected.status);
  expect(actual.text, path).toBe(expected.text);
  expect(actual.headers['content-type']).toBe(expected.headers['content-type']);
  return { expected, actual };
}

const json = (body: unknown) => ({
  body: JSON.stringify(body, null, 1),
  headers: { 'content-type': 'application/json' },
});

describe('bodies over the stream threshold', () => {
  it('streams the instances of every JSON predict route, answering what the buffered path answers', async () => {
    const cases: [string, unknown][] = [
      ['/invocations', rows],
      ['/invocations', { instances: rows }],
      ['/v1/models/iris:predict', { instances: rows }],
      ['/predict', { parameters: { instances: [[9, 9, 9, 9]] }, instances: rows }],
      ['/score', { data: rows }],
      ['/score', { input_data: { columns: ['a', 'b', 'c', 'd'], index: rows.map((_, i) => i), data: rows } }],
    ];
    for (const [path, body] of cases) {
      const { expected, actual } = await expectSameAnswer(path, json(body));
      expect(expected.status).toBe(200);
      expect(expected.headers['content-length']).toBeDefined();
      // Over 64 bytes of predictions: sent as made.
      expect(actual.headers['transfer-encoding']).toBe('chunked');
      expect(actual.headers['content-length']).toBeUndefined();
    }
    const chunked = { ...json({ instances: rows }), chunked: true };
    expect((await expectSameAnswer('/invocations', chunked)).actual.status).toBe(200);
  });

  it('streams JSON Lines and CSV line by line, into every response format', async () => {
    const bodies = [
      { type: 'application/jsonlines', body: rows.map((r) => JSON.stringify(r)).join('\r\n') },
      { type: 'text/csv', body: `${rows.map((r) => r.join(',')).join('\n')}\n` },
    ];
    for (const { type, body } of bodies) {
      for (const accept of ['application/json', 'application/jsonlines', 'text/csv']) {
        const { actual } = await expectSameAnswer('/invocations', {
          body,
          headers: { 'content-type': type, accept },
        });
        expect(actual.status, `${type} → ${accept}`).toBe(200);
      }
    }
  });

  it('answers 4xx for a bad body while nothing was sent yet', async () => {
    const cases: [string, CallOptions, number, string | RegExp][] = [
      ['/invocations', json({ rows }), 400, 'expected {"instances": [...]} or a JSON array of instances'],
      ['/v1/models/iris:predict', json(rows), 400, 'expected a JSON object {"instances": [...]}'],
      [
        '/invocations',
        {
          body: `${JSON.stringify(rows).slice(0, -1)},[1,2,3,]]`,
          headers: { 'content-type': 'application/json' },
        },
        400,
        /^malformed JSON in instance 40 \(at byte \d+\): /,
      ],
      [
        '/invocations',
        {
          body: `${rows.map((r) => r.join(',')).join('\n')}\n1,2,x,4\n`,
          headers: { 'content-type': 'text/csv' },
        },
        400,
        'line 41, column 3: "x" is not a number',
      ],
      ['/invocations', json({ instances: [...rows, [1, 2, 3]] }), 400, /^instance 40: expected 4 values/],
      [
        '/invocations',
        json({ instances: [], padding: 'x'.repeat(100) }),
        400,
        'expected a non-empty array of instances',
      ],
    ];
    for (const [path, opts, status, message] of cases) {
      const reply = await call(streaming.url, path, opts);
      expect(reply.status, String(message)).toBe(status);
      expect((reply.json as { error: string }).error).toMatch(message);
    }
  });

  it('numbers instances across pieces, and cuts a response already streaming when a later piece fails', async () => {
    // Padded rows (480 KB): the body streams, and the first piece (1024+ rows) is predicted before the rest.
    const many = Array.from({ length: 1500 }, (_, i) => [i % 5, 1, 2, 3]);
    const padded = (list: unknown[]) => list.map((r) => `${JSON.stringify(r)}${' '.repeat(300)}`).join('\n');
    const bad = [...many];
    bad[1300] = [1, 2, 3];
    const post = (url: string, body: string, accept: string) =>
      call(url, '/invocations', { body, headers: { 'content-type': 'application/jsonlines', accept } });

    // 256 KiB: the first piece's predictions (about 100 KB) are held, so the failure is still a 400.
    const holding = await startServer({ model, port: 0, logger: silent, streamThresholdBytes: 256 * 1024 });
    try {
      const reply = await post(holding.url, padded(bad), 'application/json');
      expect(reply.status).toBe(400);
      expect((reply.json as { error: string }).error).toMatch(/^instance 1300: expected 4 values/);
      const good = await post(holding.url, padded(many), 'application/jsonlines');
      expect(good.status).toBe(200);
      expect(good.text.split('\n')).toHaveLength(1501);
    } finally {
      await holding.close(1000);
    }

    // 32 KiB: the first piece's predictions are already sent when row 1300 fails; the response is cut off.
    const sending = await startServer({ model, port: 0, logger: silent, streamThresholdBytes: 32 * 1024 });
    try {
      const cut = await post(sending.url, padded(bad), 'application/json').then(
        (r) => `answered ${r.status}`,
        (error: Error) => error.message,
      );
      expect(cut).toMatch(/aborted|socket hang up|ECONNRESET/);
      expect((await call(sending.url, '/ping')).status).toBe(200);
    } finally {
      await sending.close(1000);
    }
  });

  it('keeps the payload limit', async () => {
    const s = await startServer({
      model,
      port: 0,
      logger: silent,
      streamThresholdBytes: 64,
      maxPayloadBytes: 1024,
    });
    try {
      const body = JSON.stringify(Array.from({ length: 100 }, () => rows[0]));
      for (const chunked of [false, true]) {
        const reply = await call(s.url, '/invocations', {
          body,
          chunked,
          headers: { 'content-type': 'application/json' },
        });
        expect(reply.status).toBe(413);
      }
    } finally {
      await s.close(1000);
    }
  });
});
