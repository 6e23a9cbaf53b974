// The baseline of the real-time benchmark: the least a node:http + onnxruntime-node server can do for
// `{"instances": [[4 floats], ...]}` on the iris model. No validation, no metrics, no logging; it answers
// `{"predictions": [{"probabilities": [...], "label": n}, ...]}`, the same body as modelport's /invocations.
//   node bench/baseline-server.mjs [model.onnx] [port]
// Prints one JSON line {"msg":"ready","port":N} once it listens on 127.0.0.1.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ort = createRequire(`${root}packages/runtime/package.json`)('onnxruntime-node');

const modelPath = process.argv[2] ?? `${root}examples/iris/model.onnx`;
const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all' });

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const { instances } = JSON.parse(Buffer.concat(chunks).toString());
    const n = instances.length;
    const data = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) data.set(instances[i], i * 4);
    const out = await session.run({ input: new ort.Tensor('float32', data, [n, 4]) });
    const p = out.probabilities.data;
    const l = out.label.data;
    const predictions = new Array(n);
    for (let i = 0; i < n; i++) {
      predictions[i] = { probabilities: Array.from(p.subarray(i * 3, i * 3 + 3)), label: Number(l[i]) };
    }
    const body = JSON.stringify({ predictions });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'ready', port: server.address().port }));
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
