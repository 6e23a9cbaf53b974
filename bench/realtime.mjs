// Group "realtime": requests/s and latency of a local real-time endpoint deployed by the CLI against a
// minimal node:http + onnxruntime server (bench/baseline-server.mjs), with autocannon, A/B alternated.
import autocannon from 'autocannon';

import { cpuSeconds, deploy, irisRow, median, paths, prng, startServerProcess } from './lib.mjs';

export const name = 'realtime';
export const title = 'Local real-time endpoint: HTTP throughput against a bare node:http + ORT server';

const CONNECTIONS = 10;

/** @param {number} instances */
function requestBody(instances) {
  const random = prng(7);
  const rows = Array.from({ length: instances }, () => irisRow(random));
  return `{"instances":[${rows.join(',')}]}`;
}

/**
 * @param {string} url @param {string} body @param {number} seconds
 * @param {number} [pid] server process whose CPU time (with its children) is charged to the requests
 */
async function load(url, body, seconds, pid) {
  const cpuBefore = pid === undefined ? 0 : cpuSeconds(pid);
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuUsPerRequest:
      pid === undefined ? undefined : ((cpuSeconds(pid) - cpuBefore) / result.requests.total) * 1e6,
  };
}

/** One request, to check both servers give the same answer before timing them. */
async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  const warm = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 2 : 10;
  const rounds = ctx.rounds ?? (ctx.quick ? 1 : 3);
  const endpoint = await deploy(ctx, paths.endpointManifest);
  const baseline = await startServerProcess(ctx, [paths.baselineServer, paths.model]);
  const servers = {
    modelport: `${endpoint.url}/invocations`,
    baseline: `${baseline.url}/invocations`,
  };
  const pids = { modelport: endpoint.pid, baseline: baseline.pid };
  ctx.log(`modelport ${servers.modelport} (supervisor pid ${endpoint.pid}), baseline ${servers.baseline}`);

  const metrics = [];
  const details = { connections: CONNECTIONS, warmSeconds: warm, seconds, rounds, bodies: {} };
  try {
    for (const instances of [1, 32]) {
      const body = requestBody(instances);
      const [a, b] = await Promise.all([post(servers.modelport, body), post(servers.baseline, body)]);
      const sameOutput = JSON.stringify(a) === JSON.stringify(b);
      if (!sameOutput) ctx.log(`warning: the two servers answer differently for ${instances} instance(s)`);
      const runs = { modelport: [], baseline: [] };
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? ['modelport', 'baseline'] : ['baseline', 'modelport'];
        for (const server of order) {
          await load(servers[server], body, warm);
          const r = await load(servers[server], body, seconds, pids[server]);
          runs[server].push(r);
          ctx.log(
            `${instances} inst, round ${round + 1}/${rounds}, ${server}: ${Math.round(r.rps)} req/s, ` +
              `p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cpuUsPerRequest.toFixed(0)} µs CPU/req${r.non2xx + r.errors > 0 ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''}`,
          );
        }
      }
      const pick = (server, key) => median(runs[server].map((r) => r[key]));
      const failures = ['modelport', 'baseline']
        .map((s) => [s, runs[s].reduce((n, r) => n + r.non2xx + r.errors, 0)])
        .filter(([, n]) => n > 0);
      const ratio = pick('modelport', 'rps') / pick('baseline', 'rps');
      const roundRatios = runs.modelport.map((r, i) => r.rps / runs.baseline[i].rps);
      ctx.log(
        `${instances} inst: req/s ratio ${ratio.toFixed(2)} (medians), per-round ratios ${roundRatios.map((r) => r.toFixed(2)).join(', ')}`,
      );
      metrics.push(
        {
          id: `realtime.rps-${instances}`,
          label: `req/s, ${instances} instance${instances === 1 ? '' : 's'} per request`,
          unit: 'req/s',
          subject: pick('modelport', 'rps'),
          baseline: pick('baseline', 'rps'),
          ratio,
          target: { on: 'ratio', op: '>=', value: 0.9 },
          ...(failures.length > 0 && {
            error: `failed requests: ${failures.map(([s, n]) => `${s} ${n}`).join(', ')}`,
          }),
          ...(!sameOutput && { note: 'responses differ' }),
        },
        {
          id: `realtime.p50-${instances}`,
          label: `p50 latency, ${instances} instance${instances === 1 ? '' : 's'}`,
          unit: 'ms',
          subject: pick('modelport', 'p50'),
          baseline: pick('baseline', 'p50'),
        },
        {
          id: `realtime.p99-${instances}`,
          label: `p99 latency, ${instances} instance${instances === 1 ? '' : 's'}`,
          unit: 'ms',
          subject: pick('modelport', 'p99'),
          baseline: pick('baseline', 'p99'),
        },
      );
      metrics.push({
        id: `realtime.cpu-${instances}`,
        label: `server CPU per request, ${instances} instance${instances === 1 ? '' : 's'} (lower is better)`,
        unit: 'µs',
        subject: pick('modelport', 'cpuUsPerRequest'),
        baseline: pick('baseline', 'cpuUsPerRequest'),
        ratio: pick('modelport', 'cpuUsPerRequest') / pick('baseline', 'cpuUsPerRequest'),
      });
      details.bodies[instances] = {
        bytes: Buffer.byteLength(body),
        sameOutput,
        roundRatios,
        medianRoundRatio: median(roundRatios),
        runs,
      };
    }
  } finally {
    await baseline.stop();
    await endpoint.destroy();
  }
  return { metrics, details };
}
