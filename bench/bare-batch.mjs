// The baseline of the batch benchmark: a bare loop over a JSONL file of 4-float rows. It reads the file,
// parses each line with JSON.parse, fills one Float32Array per `batchSize` rows, calls session.run and
// writes one `{"probabilities":[...],"label":n}` line per row: the same output text as modelport's batch
// runner, with no checkpoint, no fsync, no validation and no error file.
//   node bench/bare-batch.mjs <input.jsonl> <output.jsonl> [model.onnx]
import { createReadStream, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** onnxruntime-node, the copy the runtime package uses. */
export function loadOrt() {
  return createRequire(`${root}packages/runtime/package.json`)('onnxruntime-node');
}

/**
 * @param {{ ort: any, session: any, input: string, output: string, batchSize?: number }} opts
 * @returns {Promise<number>} rows written
 */
export async function bareBatch({ ort, session, input, output, batchSize = 1024 }) {
  const writer = createWriteStream(output);
  const features = new Float32Array(batchSize * 4);
  let n = 0;
  let rows = 0;
  const flush = async () => {
    const result = await session.run({
      input: new ort.Tensor('float32', features.subarray(0, n * 4), [n, 4]),
    });
    const p = result.probabilities.data;
    const l = result.label.data;
    let text = '';
    for (let i = 0; i < n; i++) {
      text += JSON.stringify({
        probabilities: Array.from(p.subarray(i * 3, i * 3 + 3)),
        label: Number(l[i]),
      });
      text += '\n';
    }
    rows += n;
    n = 0;
    if (!writer.write(text)) await new Promise((resolve) => writer.once('drain', resolve));
  };
  let rest = '';
  for await (const chunk of createReadStream(input, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      if (line === '') continue;
      features.set(JSON.parse(line), n * 4);
      if (++n === batchSize) await flush();
    }
  }
  if (rest !== '') {
    features.set(JSON.parse(rest), n * 4);
    n++;
  }
  if (n > 0) await flush();
  await new Promise((resolve, reject) => writer.end((error) => (error ? reject(error) : resolve())));
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [input, output, model = `${root}examples/iris/model.onnx`] = process.argv.slice(2);
  if (input === undefined || output === undefined) {
    console.error('usage: node bench/bare-batch.mjs <input.jsonl> <output.jsonl> [model.onnx]');
    process.exit(2);
  }
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  const started = performance.now();
  const rows = await bareBatch({ ort, session, input, output });
  const seconds = (performance.now() - started) / 1000;
  console.log(`${rows} rows in ${seconds.toFixed(2)} s: ${Math.round(rows / seconds)} rows/s`);
}
