// Group "batch": rows/s of the runtime's runBatchFiles against a bare loop (bench/bare-batch.mjs), in this
// process on the same JSONL file and model, alternated; plus `modelport apply` of a BatchJob end to end.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { bareBatch } from './bare-batch.mjs';
import { cli, irisRow, loadOrt, median, paths, prng } from './lib.mjs';

export const name = 'batch';
export const title = 'Batch over files: rows/s against a bare read-parse-run-write loop';

/** Writes `rows` deterministic iris-like rows as JSONL, streaming. */
async function writeRows(path, rows) {
  const random = prng(42);
  const out = createWriteStream(path);
  let text = '';
  for (let i = 0; i < rows; i++) {
    text += irisRow(random) + '\n';
    if (text.length > 1 << 16) {
      if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve));
      text = '';
    }
  }
  await new Promise((resolve, reject) => out.end(text, (error) => (error ? reject(error) : resolve())));
}

async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

const time = async (fn) => {
  const started = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - started) / 1000 };
};

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  const rows = ctx.quick ? 20_000 : 200_000;
  const rounds = ctx.rounds ?? (ctx.quick ? 2 : 3);
  const dir = join(ctx.tmpDir, 'batch');
  const inputDir = join(dir, 'in');
  const input = join(inputDir, 'rows.jsonl');
  mkdirSync(inputDir, { recursive: true });
  ctx.cleanup.add('remove batch files', () => rmSync(dir, { recursive: true, force: true }));
  await writeRows(input, rows);
  ctx.log(`${rows} rows in ${input}`);

  const runtime = await import(pathToFileURL(paths.runtime).href);
  const model = await runtime.OnnxModel.load(paths.model, { name: 'iris' });
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(paths.model, { graphOptimizationLevel: 'all' });
  ctx.cleanup.add('release batch models', async () => {
    await model.close();
    await session.release();
  });

  let run = 0;
  const subject = async () => {
    const output = join(dir, `out-runtime-${run++}`);
    const { value, seconds } = await time(() => runtime.runBatchFiles({ model, input: inputDir, output }));
    if (value.rows !== rows || value.errors !== 0) {
      throw new Error(
        `runBatchFiles wrote ${value.rows} rows and ${value.errors} errors, expected ${rows} rows`,
      );
    }
    return { seconds, output: value.files[0].outputPath, dir: output };
  };
  const baseline = async () => {
    const output = join(dir, `out-bare-${run++}.jsonl`);
    const { value, seconds } = await time(() => bareBatch({ ort, session, input, output }));
    if (value !== rows) throw new Error(`the bare loop wrote ${value} rows, expected ${rows}`);
    return { seconds, output, dir: output };
  };

  // Warm-up of both (JIT, page cache), and a check that both write the same bytes.
  const warmS = await subject();
  const warmB = await baseline();
  const [hashS, hashB] = await Promise.all([sha256(warmS.output), sha256(warmB.output)]);
  const sameOutput = hashS === hashB;
  if (!sameOutput) ctx.log('warning: runBatchFiles and the bare loop wrote different output');
  for (const r of [warmS, warmB]) rmSync(r.dir, { recursive: true, force: true });

  // A BatchJob manifest over the same file, for the CLI's end-to-end time.
  const manifest = join(dir, 'batch.yaml');
  const cliRun = async () => {
    const n = run++;
    const output = join(dir, `out-cli-${n}`);
    const stateDir = join(dir, `state-cli-${n}`);
    writeFileSync(
      manifest,
      [
        'apiVersion: modelport.dev/v1alpha1',
        'kind: BatchJob',
        'metadata:',
        '  name: bench-batch',
        'spec:',
        '  model:',
        '    format: onnx',
        `    uri: ${JSON.stringify(paths.model)}`,
        '  target:',
        '    provider: local',
        '  batch:',
        `    input: ${JSON.stringify(inputDir)}`,
        `    output: ${JSON.stringify(output)}`,
        '    format: jsonl',
        '    miniBatchSize: 1024',
        '',
      ].join('\n'),
    );
    const result = await cli(['apply', '--yes', manifest], {
      stateDir,
      cleanup: ctx.cleanup,
      timeoutMs: 600_000,
    });
    rmSync(output, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
    return { seconds: result.ms / 1000 };
  };

  const runs = { runtime: [], bare: [], cli: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['runtime', 'bare'] : ['bare', 'runtime'];
    for (const which of order) {
      const r = await (which === 'runtime' ? subject() : baseline());
      rmSync(r.dir, { recursive: true, force: true });
      runs[which].push(rows / r.seconds);
    }
    runs.cli.push(rows / (await cliRun()).seconds);
    ctx.log(
      `round ${round + 1}/${rounds}: runBatchFiles ${Math.round(runs.runtime.at(-1))} rows/s, ` +
        `bare ${Math.round(runs.bare.at(-1))} rows/s, CLI apply ${Math.round(runs.cli.at(-1))} rows/s`,
    );
  }
  const ratio = median(runs.runtime) / median(runs.bare);
  return {
    metrics: [
      {
        id: 'batch.rows',
        label: `runBatchFiles rows/s (${rows} rows, in-process)`,
        unit: 'rows/s',
        subject: median(runs.runtime),
        baseline: median(runs.bare),
        ratio,
        target: { on: 'ratio', op: '>=', value: 0.8 },
        ...(!sameOutput && { note: 'outputs differ' }),
      },
      {
        id: 'batch.cli',
        label: '`modelport apply` BatchJob end to end (process start to exit)',
        unit: 'rows/s',
        subject: median(runs.cli),
        baseline: median(runs.bare),
        ratio: median(runs.cli) / median(runs.bare),
      },
    ],
    details: {
      rows,
      rounds,
      inputBytes: statSync(input).size,
      sameOutput,
      roundRatios: runs.runtime.map((r, i) => r / runs.bare[i]),
      runs,
    },
  };
}
