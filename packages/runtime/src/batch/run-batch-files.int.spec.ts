import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OnnxModel } from '../onnx-model.js';
import { assertDistIsCurrent, PACKAGE_DIR } from '../testing/built-dist.js';
import {
  classify,
  writeClassifierModel,
  writeIdentityModel,
  writeMultiInputModel,
} from '../testing/test-models.js';
import { CHECKPOINT_FILE, type BatchCheckpoint } from './checkpoint.js';
import { BatchErrorThresholdError, type BatchProgress } from './file-processor.js';
import { predictFile, runBatchFiles } from './run-batch-files.js';

let dir: string;
let modelPath: string;
let model: OnnxModel;

/** Deterministic iris-like rows. */
function makeRows(count: number, seed: number): number[][] {
  let s = seed;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: count }, () =>
    [4 + random() * 4, 2 + random() * 2.5, 1 + random() * 6, random() * 2.5].map((v) => +v.toFixed(2)),
  );
}

function readJsonl(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

function expectPredictionsOf(path: string, rows: number[][]): void {
  const predictions = readJsonl(path) as { probabilities: number[]; label: number }[];
  expect(predictions).toHaveLength(rows.length);
  predictions.forEach((p, i) => {
    const expected = classify(rows[i] as number[]);
    if (p.label !== expected.label) throw new Error(`row ${i}: label ${p.label}, expected ${expected.label}`);
    p.probabilities.forEach((v, j) => {
      if (Math.abs(v - (expected.probabilities[j] as number)) > 1e-6)
        throw new Error(`row ${i}: probability ${j} is ${v}`);
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-batch-'));
  modelPath = writeClassifierModel(dir);
  model = await OnnxModel.load(modelPath);
});

afterAll(async () => {
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runBatchFiles', () => {
  it('predicts a 10k-row JSONL and a CSV with a header; bad lines go to the errors file', async () => {
    const input = join(dir, 'mixed-in');
    mkdirSync(input);
    const rows = makeRows(10_000, 7);
    const lines = rows.map((r) => JSON.stringify(r));
    // Bad records in the middle, by 1-based line number.
    const bad = new Map<number, string>([
      [1234, '[1, 2, 3]'],
      [5000, '{"input": [1, 2, 3, "x"]}'],
      [5001, '[1, 2, 3, 4'],
      [7777, '["a", "b", "c", "d"]'],
    ]);
    const jsonl: string[] = [];
    let r = 0;
    for (let line = 1; r < rows.length; line++) jsonl.push(bad.get(line) ?? (lines[r++] as string));
    jsonl.splice(100, 0, ''); // a blank line is skipped silently (it is line 101)
    writeFileSync(join(input, 'a.jsonl'), jsonl.join('\n') + '\n');

    const csvRows = makeRows(500, 11);
    const csvLines = [
      'sepal_length,sepal_width,petal_length,petal_width',
      ...csvRows.map((row) => row.join(',')),
    ];
    csvLines.splice(51, 0, '1,2,oops,4'); // line 52
    csvLines.splice(300, 0, '1,2,3'); // line 301
    writeFileSync(join(input, 'b.csv'), csvLines.join('\r\n')); // CRLF, no newline at the end
    writeFileSync(join(input, 'notes.txt'), 'ignored');

    const output = join(dir, 'mixed-out');
    const progress: BatchProgress[] = [];
    const result = await runBatchFiles({
      model,
      input,
      output,
      batchSize: 256,
      onProgress: (p) => progress.push(p),
    });

    expect(result.resumed).toBe(false);
    expect(result.files.map((f) => [f.file, f.rows, f.errors])).toEqual([
      ['a.jsonl', 10_000, 4],
      ['b.csv', 500, 2],
    ]);
    expect(result.rows).toBe(10_500);
    expectPredictionsOf(join(output, 'a.jsonl.out'), rows);
    expectPredictionsOf(join(output, 'b.csv.out'), csvRows);

    // Line 1234 shifted by the blank line inserted at 101.
    expect(readJsonl(join(output, 'a.jsonl.errors.jsonl'))).toEqual([
      { line: 1235, error: 'expected 4 values for input "input" (shape [-1,4]), got 3' },
      { line: 5001, error: 'input "input" expects float32 numbers, got string "x" at [3]' },
      { line: 5002, error: "malformed JSON at column 12: expected ',' or ']', unexpected end of input" },
      { line: 7778, error: 'input "input" expects float32 numbers, got string "a" at [0]' },
    ]);
    expect(readJsonl(join(output, 'b.csv.errors.jsonl'))).toEqual([
      { line: 52, error: 'column 3: "oops" is not a number' },
      { line: 301, error: 'expected 4 values for input "input" (shape [-1,4]), got 3' },
    ]);

    const last = progress.filter((p) => p.file === 'a.jsonl').at(-1);
    expect(last).toMatchObject({ rowsDone: 10_000, errors: 4 });
    expect(last?.bytesDone).toBe(last?.bytesTotal);
    const checkpoint = JSON.parse(readFileSync(join(output, CHECKPOINT_FILE), 'utf8')) as BatchCheckpoint;
    expect(checkpoint.files['a.jsonl']?.done).toBe(true);
    expect(checkpoint.files['b.csv']?.done).toBe(true);
    expect(checkpoint.files['a.jsonl']?.outputBytes).toBe(statSync(join(output, 'a.jsonl.out')).size);

    // Running the finished job again changes nothing.
    const again = await runBatchFiles({ model, input, output });
    expect(again.resumed).toBe(true);
    expect(again.rows).toBe(10_500);
  });

  it('writes the same text as the HTTP path (predictInstances + JSON.stringify)', async () => {
    const rows = makeRows(50, 3);
    const input = join(dir, 'same.jsonl');
    writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const output = join(dir, 'same-out');
    await runBatchFiles({ model, input, output, batchSize: 7 });
    const expected = (await model.predictInstances(rows)).map((p) => JSON.stringify(p) + '\n').join('');
    expect(readFileSync(join(output, 'same.jsonl.out'), 'utf8')).toBe(expected);
  });

  it('feeds multi-input objects and starts a new micro-batch for rows of another length', async () => {
    const multi = await OnnxModel.load(writeMultiInputModel(dir));
    const identity = await OnnxModel.load(writeIdentityModel(dir));
    try {
      const multiIn = join(dir, 'multi.jsonl');
      writeFileSync(
        multiIn,
        ['{"x":[1,2],"k":[3]}', '{"x":[0.5,1],"k":2}', '{"x":[1,1]}', '{"k":[1],"x":[2,2]}'].join('\n'),
      );
      const multiOut = join(dir, 'multi-out');
      const result = await runBatchFiles({ model: multi, input: multiIn, output: multiOut });
      expect(result.files[0]).toMatchObject({ rows: 3, errors: 1 });
      expect(readJsonl(join(multiOut, 'multi.jsonl.out'))).toEqual([
        { y: [3, 6], k_plus_one: [4] },
        { y: [1, 2], k_plus_one: [3] },
        { y: [2, 2], k_plus_one: [2] },
      ]);
      expect(readJsonl(join(multiOut, 'multi.jsonl.errors.jsonl'))).toEqual([
        { line: 3, error: 'missing input "k" (shape [-1,1])' },
      ]);

      const raggedIn = join(dir, 'ragged.jsonl');
      const ragged = [[1, 2], [3, 4], [5, 6, 7], [8], [9, 10]];
      writeFileSync(raggedIn, ragged.map((r) => JSON.stringify(r)).join('\n'));
      const raggedOut = join(dir, 'ragged-out');
      await runBatchFiles({ model: identity, input: raggedIn, output: raggedOut });
      expect(readJsonl(join(raggedOut, 'ragged.jsonl.out'))).toEqual(ragged);
    } finally {
      await multi.close();
      await identity.close();
    }
  });

  it('reads lines longer than its buffer', async () => {
    const identity = await OnnxModel.load(writeIdentityModel(dir));
    try {
      const rows = [
        Array.from({ length: 3000 }, (_, i) => i / 8),
        Array.from({ length: 3000 }, (_, i) => -i - 1),
      ];
      const input = join(dir, 'long.jsonl');
      writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n');
      const output = join(dir, 'long-out');
      const result = await runBatchFiles({ model: identity, input, output, readBufferBytes: 1024 });
      expect(result.rows).toBe(2);
      expect(readJsonl(join(output, 'long.jsonl.out'))).toEqual(rows);
    } finally {
      await identity.close();
    }
  });

  it('stops at the error threshold after writing what came before', async () => {
    const input = join(dir, 'threshold.jsonl');
    const rows = makeRows(30, 5);
    const lines = rows.map((r) => JSON.stringify(r));
    lines.splice(10, 0, 'bad', 'bad'); // lines 11 and 12
    writeFileSync(input, lines.join('\n'));
    const output = join(dir, 'threshold-out');
    const failure = await runBatchFiles({ model, input, output, batchSize: 4, errorThreshold: 2 }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(BatchErrorThresholdError);
    expect(readJsonl(join(output, 'threshold.jsonl.errors.jsonl'))).toHaveLength(2);
    expectPredictionsOf(join(output, 'threshold.jsonl.out'), rows.slice(0, 10));
  });

  it('stops on abort and resumes to the same result as an uninterrupted run', async () => {
    const input = join(dir, 'abort.jsonl');
    const rows = makeRows(2000, 9);
    writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const output = join(dir, 'abort-out');
    const controller = new AbortController();
    const aborted = await runBatchFiles({
      model,
      input,
      output,
      batchSize: 100,
      signal: controller.signal,
      onProgress: (p) => p.rowsDone >= 500 && controller.abort(),
    }).catch((e: unknown) => e);
    expect((aborted as Error).name).toBe('AbortError');
    expect(readJsonl(join(output, 'abort.jsonl.out'))).toHaveLength(500);
    const resumed = await runBatchFiles({ model, input, output, batchSize: 100 });
    expect(resumed.resumed).toBe(true);
    expect(resumed.rows).toBe(2000);
    expectPredictionsOf(join(output, 'abort.jsonl.out'), rows);
  });

  it('refuses to resume over an input that changed', async () => {
    const input = join(dir, 'changing.jsonl');
    writeFileSync(input, '[1,2,3,4]\n');
    const output = join(dir, 'changing-out');
    await runBatchFiles({ model, input, output });
    writeFileSync(input, '[1,2,3,4]\n[5,6,7,8]\n');
    await expect(runBatchFiles({ model, input, output })).rejects.toThrow(
      /input changing\.jsonl changed since the checkpoint/,
    );
  });
});

describe('predictFile', () => {
  it('turns one payload file into one complete output file', async () => {
    const input = join(dir, 'payload.jsonl');
    const rows = makeRows(3000, 21);
    writeFileSync(input, [...rows.map((r) => JSON.stringify(r)), 'nope'].join('\n'));
    const output = join(dir, 'payload-out', 'result.jsonl');
    const result = await predictFile({ model, input, output });
    expect(result).toEqual({ rows: 3000, errors: 1, errorsPath: `${output}.errors.jsonl` });
    expectPredictionsOf(output, rows);
    expect(existsSync(`${output}.partial`)).toBe(false);
    expect(readJsonl(`${output}.errors.jsonl`)).toEqual([
      { line: 3001, error: expect.stringMatching(/^malformed JSON at column 1/) as unknown },
    ]);
  });
});

describe('resuming after SIGKILL', () => {
  const runChild = (input: string, output: string, batchSize: number, killOnProgress: number) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn(
          process.execPath,
          [
            join(PACKAGE_DIR, 'src/testing/batch-child.mjs'),
            modelPath,
            input,
            output,
            String(batchSize),
            String(killOnProgress),
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      },
    );

  let input: string;
  let reference: Map<string, string>;
  const files = ['part-1.jsonl', 'part-2.jsonl', 'part-3.csv'];

  beforeAll(async () => {
    assertDistIsCurrent();
    input = join(dir, 'kill-in');
    mkdirSync(input);
    files.forEach((name, f) => {
      const rows = makeRows(20_000, 100 + f);
      const lines = name.endsWith('.csv')
        ? ['a,b,c,d', ...rows.map((r) => r.join(','))]
        : rows.map((r) => JSON.stringify(r));
      lines.splice(5000, 0, name.endsWith('.csv') ? 'x,y' : '[1,2]'); // one bad record per file
      writeFileSync(join(input, name), lines.join('\n') + '\n');
    });
    const output = join(dir, 'kill-reference');
    await runBatchFiles({ model, input, output, batchSize: 128 });
    reference = new Map(
      files.flatMap((name) => [
        [`${name}.out`, readFileSync(join(output, `${name}.out`), 'utf8')],
        [`${name}.errors.jsonl`, readFileSync(join(output, `${name}.errors.jsonl`), 'utf8')],
      ]),
    );
  });

  const expectSameAsReference = (output: string) => {
    for (const [name, text] of reference) {
      const actual = readFileSync(join(output, name), 'utf8');
      if (actual !== text) {
        const a = actual.split('\n');
        const b = text.split('\n');
        throw new Error(
          `${name}: ${a.length - 1} lines, expected ${b.length - 1}; first difference at line ${a.findIndex((l, i) => l !== b[i]) + 1}`,
        );
      }
    }
  };

  it('continues from the checkpoint after the process kills itself mid-run', async () => {
    const output = join(dir, 'kill-self');
    // 100 micro-batches in: part-1 (157 of them) is well under way and a checkpoint has been written.
    const killed = await runChild(input, output, 128, 100);
    expect(killed.signal).toBe('SIGKILL');
    const checkpoint = JSON.parse(readFileSync(join(output, CHECKPOINT_FILE), 'utf8')) as BatchCheckpoint;
    const first = checkpoint.files['part-1.jsonl'];
    expect(first?.done).toBe(false);
    expect(first?.outputBytes).toBeLessThanOrEqual(statSync(join(output, 'part-1.jsonl.out')).size);
    // Bytes past the checkpoint (a torn write, rows written after it) must go: make them unmistakable.
    appendFileSync(join(output, 'part-1.jsonl.out'), 'x'.repeat(5_000_000));

    const resumed = await runChild(input, output, 128, 0);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout.split('\n')[1] ?? '') as {
      rows: number;
      errors: number;
      resumed: boolean;
    };
    expect(result).toMatchObject({ rows: 60_000, errors: 3, resumed: true });
    expectSameAsReference(output);
  });

  it('gives exactly one output row per valid input row when killed at arbitrary moments', async () => {
    const output = join(dir, 'kill-random');
    let kills = 0;
    // Kill a few times at varied moments after the job starts working, then let it finish.
    for (let attempt = 0; attempt < 6; attempt++) {
      const child = spawn(
        process.execPath,
        [join(PACKAGE_DIR, 'src/testing/batch-child.mjs'), modelPath, input, output, '64', '0'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), 5 + ((attempt * 53) % 120)));
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      if (code === 0) break;
      expect(code, stderr).toBeNull(); // killed, not failed
      kills++;
    }
    const last = await runChild(input, output, 64, 0);
    expect(last.code, last.stderr).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(2);
    expectSameAsReference(output);
  });
});
