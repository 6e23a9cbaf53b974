// Group "async": one ~1 GB application/jsonlines payload streamed over HTTP to a local async endpoint,
// while the endpoint's process RSS is sampled every 50 ms from /proc. The payload is generated on the fly
// from a few 1 MiB blocks of rows: it is never held in memory, nor written by the bench.
import { statfsSync } from 'node:fs';
import { request } from 'node:http';

import { deploy, irisRow, median, memoryKiB, paths, prng, sleep } from './lib.mjs';

export const name = 'async';
export const title = 'Async endpoint: 1 GB streamed upload, memory of the endpoint process';

const MIB = 1024 * 1024;
const SAMPLE_MS = 50;

/** Chunks of complete JSON lines adding up to at most `targetBytes`, and their exact total. */
function payloadPlan(targetBytes) {
  const random = prng(99);
  const blocks = [];
  for (let b = 0; b < 8; b++) {
    let text = '';
    while (text.length < MIB) text += irisRow(random) + '\n';
    blocks.push(Buffer.from(text));
  }
  let total = 0;
  let whole = 0;
  while (total + blocks[whole % blocks.length].length <= targetBytes)
    total += blocks[whole++ % blocks.length].length;
  const next = blocks[whole % blocks.length];
  const tail = next.subarray(0, next.lastIndexOf(0x0a, targetBytes - total - 1) + 1);
  total += tail.length;
  return {
    total,
    *chunks() {
      for (let i = 0; i < whole; i++) yield blocks[i % blocks.length];
      if (tail.length > 0) yield tail;
    },
  };
}

/** Samples VmRSS/VmHWM of `pid` every SAMPLE_MS until stopped. */
function startSampler(pid) {
  const samples = [];
  let last = performance.now();
  let maxGap = 0;
  const take = () => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    samples.push({ t: now, ...memoryKiB(pid) });
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { samples, maxGapMs: maxGap };
    },
  };
}

/** POSTs the payload with backpressure; resolves with the status and the parsed answer. */
function upload(url, plan) {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/jsonlines', 'content-length': plan.total },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () => {
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    void (async () => {
      for (const chunk of plan.chunks()) {
        if (answered || req.destroyed) return; // an early answer (413, 503): stop sending
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  const target = ctx.quick ? 32 * MIB : 1_000_000_000;
  const fs = statfsSync(ctx.tmpDir);
  const freeBytes = fs.bavail * fs.bsize;
  // The endpoint stores the payload, then its worker starts writing predictions (~4× the input) until
  // the deployment is destroyed: keep a wide margin.
  if (freeBytes < target * 4 + 2 * 1024 * MIB) {
    throw new Error(
      `only ${(freeBytes / 1024 / MIB).toFixed(1)} GiB free in ${ctx.tmpDir}; the async benchmark needs ${((target * 4) / 1024 / MIB + 2).toFixed(1)} GiB`,
    );
  }
  const plan = payloadPlan(target);
  const endpoint = await deploy(ctx, paths.asyncManifest);
  const url = `${endpoint.url}/async-invocations`;
  ctx.log(`async endpoint ${url}, pid ${endpoint.pid}; sending ${plan.total} bytes`);
  try {
    // Memory at rest (the model is loaded, the queue is idle).
    const idle = startSampler(endpoint.pid);
    await sleep(1000);
    const before = idle.stop().samples;
    const rssBefore = median(before.map((s) => s.rss));
    const hwmBefore = before.at(-1).hwm;

    const sampler = startSampler(endpoint.pid);
    const started = performance.now();
    const answer = await upload(url, plan);
    const seconds = (performance.now() - started) / 1000;
    const { samples, maxGapMs } = sampler.stop();
    // A little longer: the worker picks the request up right after the 202.
    const after = startSampler(endpoint.pid);
    await sleep(ctx.quick ? 500 : 2000);
    const afterSamples = after.stop().samples;

    const peakRss = Math.max(...samples.map((s) => s.rss));
    const growthMiB = (peakRss - rssBefore) / 1024;
    const hwmGrowthMiB = (samples.at(-1).hwm - hwmBefore) / 1024;
    const mibPerS = plan.total / MIB / seconds;
    ctx.log(
      `${answer.status} after ${seconds.toFixed(1)} s (${mibPerS.toFixed(0)} MiB/s); RSS ${(rssBefore / 1024).toFixed(0)} MiB ` +
        `at rest, peak ${(peakRss / 1024).toFixed(0)} MiB during upload (+${growthMiB.toFixed(1)} MiB), ` +
        `${samples.length} samples`,
    );
    const accepted = answer.status === 202;
    return {
      metrics: [
        {
          id: 'async.accepted',
          label: `POST ${(plan.total / 1e9).toFixed(2)} GB application/jsonlines answered`,
          unit: 'HTTP status',
          subject: answer.status,
          target: { on: 'subject', op: '==', value: 202 },
          ...(!accepted && { note: JSON.stringify(answer.body).slice(0, 200) }),
        },
        {
          id: 'async.upload-rate',
          label: 'upload rate (first byte sent to 202 received)',
          unit: 'MiB/s',
          subject: mibPerS,
        },
        {
          id: 'async.rss-growth',
          label: 'endpoint process peak RSS growth during the upload',
          unit: 'MiB',
          subject: growthMiB,
          target: { on: 'subject', op: '<', value: 100 },
        },
      ],
      details: {
        bytesSent: plan.total,
        bytesAccepted: typeof answer.body === 'object' ? answer.body?.bytes : undefined,
        status: answer.status,
        response: answer.body,
        seconds,
        rssBeforeMiB: rssBefore / 1024,
        peakRssMiB: peakRss / 1024,
        hwmBeforeMiB: hwmBefore / 1024,
        hwmAfterMiB: samples.at(-1).hwm / 1024,
        hwmGrowthMiB,
        peakRssAfterAcceptMiB: Math.max(...afterSamples.map((s) => s.rss)) / 1024,
        samples: samples.length,
        sampleEveryMs: SAMPLE_MS,
        maxSampleGapMs: maxGapMs,
        freeBytesBefore: freeBytes,
      },
    };
  } finally {
    ctx.log('destroying the async endpoint (its worker drains for up to 30 s)');
    await endpoint.destroy();
  }
}
