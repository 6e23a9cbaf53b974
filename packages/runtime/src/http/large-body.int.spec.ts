// A body larger than V8's longest string (~512 MiB), as a SageMaker async endpoint may pass to /invocations
// (up to 1 GB): it must be parsed as it arrives. Measured here: about 12 s and 300 MB RSS for 587 MB.
import { constants } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createJsonLogger } from '../logger.js';
import { OnnxModel } from '../onnx-model.js';
import { writeRowSumModel } from '../testing/test-models.js';
import { startServer, type RunningServer } from './server.js';

let dir: string;
let model: OnnxModel;
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-large-'));
  model = await OnnxModel.load(writeRowSumModel(dir), { name: 'sum' });
  server = await startServer({
    model,
    port: 0,
    logger: createJsonLogger({ level: 'silent' }),
    maxPayloadBytes: 1024 ** 3,
    requestTimeoutMs: 300_000,
  });
});

afterAll(async () => {
  await server?.close(1000);
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('predicts a JSON Lines body longer than the longest string V8 can make', async () => {
  // Wide rows (50,000 ones, 100 KB a line) keep the row count, and so the test's time, low.
  const width = 50_000;
  const line = Buffer.from(`[${Array.from({ length: width }, () => '1').join(',')}]\n`);
  const lines = Math.ceil((constants.MAX_STRING_LENGTH + 50_000_000) / line.length);
  const total = lines * line.length;
  expect(total).toBeGreaterThan(constants.MAX_STRING_LENGTH);

  const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      `${server.url}/invocations`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/jsonlines',
          accept: 'application/jsonlines',
          'content-length': String(total),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    Readable.from(
      (function* () {
        for (let i = 0; i < lines; i++) yield line;
      })(),
    ).pipe(req);
  });
  expect(reply.status).toBe(200);
  const predictions = reply.text.split('\n');
  expect(predictions.pop()).toBe('');
  expect(predictions).toHaveLength(lines);
  expect(new Set(predictions)).toEqual(new Set([String(width)]));
}, 120_000);
