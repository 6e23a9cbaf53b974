// The baseline for http-bench: the least a node:http + onnxruntime server can do for one JSON request.
import { createServer } from 'node:http';

import * as ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(process.argv[2]);
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const { instances } = JSON.parse(Buffer.concat(chunks).toString());
    const data = new Float32Array(instances.length * 4);
    instances.forEach((row, i) => data.set(row, i * 4));
    const out = await session.run({ input: new ort.Tensor('float32', data, [instances.length, 4]) });
    const p = out.probabilities.data;
    const l = out.label.data;
    const predictions = instances.map((_, i) => ({
      probabilities: Array.from(p.subarray(i * 3, i * 3 + 3)),
      label: Number(l[i]),
    }));
    const body = JSON.stringify({ predictions });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ msg: 'ready', port: server.address().port })),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
