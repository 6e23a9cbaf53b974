// Batch throughput: runBatchFiles against a bare loop (parse lines, one session.run per 1024 rows,
// JSON.stringify the predictions) on the same JSONL file and model. Run after `npx tsc -b packages/runtime`:
//   node packages/runtime/bench/batch-bench.mjs [model.onnx] [rows]
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';

import { OnnxModel, runBatchFiles } from '../dist/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const modelPath = process.argv[2] ?? join(here, '../../../examples/iris/model.onnx');
const rows = Number(process.argv[3] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'modelport-batch-bench-'));
const input = join(dir, 'input.jsonl');

let seed = 1;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const lines = [];
for (let i = 0; i < rows; i++) {
  lines.push(
    JSON.stringify(
      [4 + random() * 4, 2 + random() * 2.5, 1 + random() * 6, random() * 2.5].map((v) => +v.toFixed(1)),
    ),
  );
}
writeFileSync(input, lines.join('\n') + '\n');

async function bareLoop(session, out) {
  const writer = createWriteStream(out);
  const batch = new Float32Array(1024 * 4);
  let n = 0;
  let rest = '';
  const flush = async () => {
    const result = await session.run({ input: new ort.Tensor('float32', batch.subarray(0, n * 4), [n, 4]) });
    const p = result.probabilities.data;
    const l = result.label.data;
    let text = '';
    for (let i = 0; i < n; i++) {
      text +=
        JSON.stringify({ probabilities: Array.from(p.subarray(i * 3, i * 3 + 3)), label: Number(l[i]) }) +
        '\n';
    }
    if (!writer.write(text)) await new Promise((r) => writer.once('drain', r));
    n = 0;
  };
  for await (const chunk of createReadStream(input, { highWaterMark: 4 << 20, encoding: 'utf8' })) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop();
    for (const line of parts) {
      if (line === '') continue;
      batch.set(JSON.parse(line), n * 4);
      if (++n === 1024) await flush();
    }
  }
  if (rest !== '') {
    batch.set(JSON.parse(rest), n * 4);
    n++;
  }
  if (n > 0) await flush();
  await new Promise((r) => writer.end(r));
}

const session = await ort.InferenceSession.create(modelPath);
const model = await OnnxModel.load(modelPath);
const results = { bare: [], runner: [] };
const cpu = { bare: [], runner: [] };
// Wall time gives rows/s; process CPU time (all threads) per row is steadier on a busy machine.
async function timed(kind, fn) {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const used = process.cpuUsage(c);
  results[kind].push(rows / ((performance.now() - t) / 1000));
  cpu[kind].push(((used.user + used.system) / rows).toFixed(2));
}
for (let round = 0; round < 4; round++) {
  await timed('bare', () => bareLoop(session, join(dir, 'bare.out')));
  rmSync(join(dir, 'out'), { recursive: true, force: true });
  await timed('runner', () => runBatchFiles({ model, input, output: join(dir, 'out') }));
}
const same =
  readFileSync(join(dir, 'bare.out'), 'utf8') === readFileSync(join(dir, 'out', 'input.jsonl.out'), 'utf8');
const best = (xs) => Math.max(...xs.slice(1)); // the first round warms up
const fmt = (x) => `${Math.round(x / 1000)}k rows/s`;
console.log(`rows ${rows}, model ${modelPath}`);
console.log(`bare loop        best ${fmt(best(results.bare))}   all ${results.bare.map(fmt).join(', ')}`);
console.log(`runBatchFiles    best ${fmt(best(results.runner))}   all ${results.runner.map(fmt).join(', ')}`);
console.log(`CPU µs/row       bare ${cpu.bare.join(', ')}   runBatchFiles ${cpu.runner.join(', ')}`);
console.log(`ratio ${(best(results.runner) / best(results.bare)).toFixed(2)}, identical output: ${same}`);
await model.close();
await session.release();
rmSync(dir, { recursive: true, force: true });
