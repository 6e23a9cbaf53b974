// Requests/s of the runtime server (dist/bin/serve.js) against a minimal node:http + ort server on the
// same model: autocannon, 10 connections, warm-up first, each server in its own process.
//   npx tsc -b packages/runtime && node packages/runtime/bench/http-bench.mjs [model.onnx] [seconds] [rounds] [instances]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import autocannon from 'autocannon';

const here = fileURLToPath(new URL('.', import.meta.url));
const modelPath = process.argv[2] ?? join(here, '../../../examples/iris/model.onnx');
const seconds = Number(process.argv[3] ?? 10);
const instances = Number(process.argv[5] ?? 1);
const body = JSON.stringify({
  instances: Array.from({ length: instances }, (_, i) => [
    5.1 + (i % 7) / 10,
    3.5,
    1.4 + (i % 5),
    0.2 + (i % 3),
  ]),
});

function start(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve({ child, port: JSON.parse(line).port });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function load(port, duration) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/invocations`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: 10,
    duration,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

/** CPU seconds the server process has used (Linux /proc): a measure less sensitive to a busy machine. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const servers = {
  'minimal node:http + ort': [join(here, 'minimal-server.mjs'), modelPath],
  'modelport-runtime': [join(here, '../dist/bin/serve.js'), '--model', modelPath, '--port', '0'],
};
const rounds = Number(process.argv[4] ?? 3);
console.log(`${instances} instance(s) per request, 10 connections, 3 s warm-up per run`);
const summary = new Map();
for (let round = 0; round < rounds; round++) {
  for (const [name, args] of Object.entries(servers)) {
    const { child, port } = await start(args);
    await load(port, 3); // warm-up
    const cpu = cpuSeconds(child.pid);
    const r = await load(port, seconds);
    const cpuPerRequest = ((cpuSeconds(child.pid) - cpu) / r.requests.total) * 1e6;
    console.log(
      `${name.padEnd(26)} ${Math.round(r.requests.average)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  ` +
        `server CPU ${cpuPerRequest.toFixed(1)} µs/request`,
    );
    summary.set(name, [...(summary.get(name) ?? []), r.requests.average]);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of summary) console.log(`median ${name.padEnd(26)} ${Math.round(median(xs))} req/s`);
