// A local BatchJob killed mid-run (SIGKILL of `modelport apply`) resumes from its checkpoint when applied
// again: exactly one output row per valid input row, in order, identical to an uninterrupted run; bad
// lines land in the errors file with their 1-based line numbers; status says succeeded and resumed.
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prediction, Row, Workspace } from './helpers.js';
import {
  comparePredictions,
  createWorkspace,
  irisRows,
  planActions,
  processAlive,
  referencePredictions,
  runCli,
  spawnCli,
  statusOf,
  waitFor,
  writeManifest,
} from './helpers.js';

const NAME = `iris-batch-resume-${process.pid}`;
const VALID_ROWS = 200_000;
const INPUT = 'rows.jsonl';
const CHECKPOINT = '.modelport-batch.json';

interface FileCheckpoint {
  offset: number;
  line: number;
  outputBytes: number;
  errorBytes: number;
  rows: number;
  errors: number;
  done: boolean;
}

/** Bad lines, by the 1-based line number they get in the input file. */
const BAD_LINES = new Map<number, string>([
  [3, '[5.1, 3.5,'], // malformed JSON
  [50_001, '[1.5, 2.5, 3.5]'], // three values for four features
  [120_000, '["a", "b", "c", "d"]'], // strings
  [199_990, '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'], // an object, not a row
]);
/** A blank line: skipped, not an error, but it still counts in the line numbers after it. */
const BLANK_LINE = 150_000;

async function readCheckpoint(outDir: string): Promise<FileCheckpoint | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(outDir, CHECKPOINT), 'utf8')) as {
      files: Record<string, FileCheckpoint>;
    };
    return parsed.files[INPUT];
  } catch {
    return undefined; // not written yet, or caught between write and rename
  }
}

describe('batch job: SIGKILL midway, apply again, and it resumes exactly', { timeout: 180_000 }, () => {
  let ws: Workspace;
  let manifest = '';
  let cleanManifest = '';
  let outDir = '';
  let cleanDir = '';
  let rows: Row[] = [];
  let atKill: FileCheckpoint | undefined;
  let killed: ChildProcess | undefined;

  beforeAll(async () => {
    ws = await createWorkspace('batch-resume');
    const inDir = join(ws.dir, 'in');
    outDir = join(ws.dir, 'out');
    cleanDir = join(ws.dir, 'out-clean');
    await mkdir(inDir);
    rows = irisRows(VALID_ROWS, 42);
    const lines: string[] = [];
    let next = 0;
    while (next < rows.length) {
      const lineNumber = lines.length + 1;
      const bad = BAD_LINES.get(lineNumber);
      if (bad !== undefined) lines.push(bad);
      else if (lineNumber === BLANK_LINE) lines.push('');
      else lines.push(JSON.stringify(rows[next++]));
    }
    await writeFile(join(inDir, INPUT), `${lines.join('\n')}\n`);
    const variant = (file: string, name: string, output: string) =>
      writeManifest(join(ws.dir, file), 'batch', [
        [/name: iris-batch$/m, `name: ${name}`],
        ['input: ./batch-input', `input: ${inDir}`],
        ['output: ./batch-output', `output: ${output}`],
      ]);
    manifest = await variant('batch.yaml', NAME, outDir);
    cleanManifest = await variant('clean.yaml', `${NAME}-clean`, cleanDir);
    ws.track(manifest);
    ws.track(cleanManifest);
  });

  afterAll(async () => {
    if (killed?.exitCode === null && killed.signalCode === null) killed.kill('SIGKILL');
    await ws?.cleanup();
  });

  it('SIGKILLs `modelport apply` once the checkpoint shows progress', async () => {
    killed = spawnCli(['apply', manifest, '--yes'], { stateDir: ws.stateDir });
    ws.trackPid(killed.pid);
    const child = killed;
    child.stdin?.end();
    child.stdout?.resume();
    child.stderr?.resume();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let finishedEarly = false;
    void exited.then(() => (finishedEarly = true));
    await waitFor(
      'the job to checkpoint some progress',
      async () => {
        if (finishedEarly) throw new Error('the job ended before it could be killed');
        const checkpoint = await readCheckpoint(outDir);
        return checkpoint !== undefined && checkpoint.rows >= 10_000 && !checkpoint.done ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2 },
    );
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');

    atKill = await readCheckpoint(outDir);
    expect(atKill?.done).toBe(false);
    expect(atKill?.rows).toBeGreaterThanOrEqual(10_000);
    expect(atKill?.rows).toBeLessThan(VALID_ROWS);
  });

  it('shows the run as stopped and plans a replace', async () => {
    const status = await statusOf(manifest, ws.stateDir);
    expect(status.state).toBe('stopped');
    expect(processAlive(Number(status.details?.pid))).toBe(false);
    expect(await planActions(manifest, ws.stateDir)).toEqual([
      expect.objectContaining({ kind: 'replace', type: 'local:BatchRun', reason: 'is stopped' }),
    ]);
  });

  it('resumes when applied again and reports succeeded, resumed, with the right counts', async () => {
    const apply = await runCli(['apply', manifest, '--yes'], { stateDir: ws.stateDir });
    expect(apply.code, apply.stderr.slice(-2000)).toBe(0);
    const status = await statusOf(manifest, ws.stateDir);
    expect(status).toMatchObject({
      state: 'succeeded',
      details: { rows: VALID_ROWS, badRecords: BAD_LINES.size, files: 1, resumed: true },
    });
    expect(status.message).toMatch(
      new RegExp(`^${VALID_ROWS} rows predicted, ${BAD_LINES.size} bad records`),
    );
    const checkpoint = await readCheckpoint(outDir);
    expect(checkpoint).toMatchObject({ done: true, rows: VALID_ROWS, errors: BAD_LINES.size });
    expect((await planActions(manifest, ws.stateDir)).map((a) => a.kind)).toEqual(['noop']);
  });

  it('wrote exactly one output row per valid input row, identical to an uninterrupted run', async () => {
    const clean = await runCli(['apply', cleanManifest, '--yes'], { stateDir: ws.stateDir });
    expect(clean.code, clean.stderr.slice(-2000)).toBe(0);
    const cleanStatus = await statusOf(cleanManifest, ws.stateDir);
    expect(cleanStatus.details).toMatchObject({ rows: VALID_ROWS, resumed: false });

    const resumed = await readFile(join(outDir, `${INPUT}.out`));
    const uninterrupted = await readFile(join(cleanDir, `${INPUT}.out`));
    const lines = resumed.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(VALID_ROWS);
    expect(resumed.length).toBe(uninterrupted.length);
    expect(resumed.equals(uninterrupted)).toBe(true);
    expect((await stat(join(outDir, `${INPUT}.out`))).size).toBe(resumed.length);

    // In order, and right: rows around the kill point and a spread of others, against onnxruntime.
    const cut = atKill?.rows ?? 0;
    const sample = [...new Set([0, 1, cut - 2, cut - 1, cut, cut + 1, VALID_ROWS - 1])].filter(
      (i) => i >= 0 && i < VALID_ROWS,
    );
    for (let i = 17; i < VALID_ROWS; i += 1009) sample.push(i);
    const expected = await referencePredictions(sample.map((i) => rows[i] as Row));
    const actual = sample.map((i) => JSON.parse(lines[i] ?? 'null') as Prediction);
    expect(comparePredictions(actual, expected)).toBeUndefined();
  });

  it('lists the bad lines in the errors file with their 1-based line numbers', async () => {
    const text = await readFile(join(outDir, `${INPUT}.errors.jsonl`), 'utf8');
    const errors = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { line: number; error: string });
    expect(errors.map((e) => e.line)).toEqual([...BAD_LINES.keys()]);
    expect(errors[0]?.error).toMatch(/malformed JSON/);
    expect(errors[1]?.error).toMatch(/4/);
    for (const e of errors) expect(e.error.length).toBeGreaterThan(10);
    expect(text).toBe(await readFile(join(cleanDir, `${INPUT}.errors.jsonl`), 'utf8'));
  });
});
