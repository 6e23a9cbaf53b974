// `pnpm bench`: every benchmark of modelport in one run, each against a baseline, as ratios (the machine
// is shared and noisy: subject and baseline alternate, several rounds, medians). Prints a table and writes
// bench/out/results.json. Assumes a built tree (`npx tsc -b`; `pnpm bench` builds first).
//   node bench/run.mjs [--only <group>[,<group>...]] [--quick] [--markdown] [--rounds <n>] [--out <file>]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import * as asyncPayload from './async-payload.mjs';
import * as aws from './aws.mjs';
import * as azure from './azure.mjs';
import * as batch from './batch.mjs';
import * as edge from './edge.mjs';
import * as foundation from './foundation.mjs';
import * as gcp from './gcp.mjs';
import { Cleanup, missingBuildOutputs, ROOT } from './lib.mjs';
import * as realtime from './realtime.mjs';
import { judge, markdownTable, textTable } from './report.mjs';

/**
 * What a group's run() gets.
 * @typedef {object} GroupContext
 * @property {boolean} quick small sizes and short runs (a smoke test, not a measurement)
 * @property {number | undefined} rounds --rounds, when given: rounds of alternated A/B measurements
 * @property {string} tmpDir a temporary folder of this run, removed at the end
 * @property {string} stateDir MODELPORT_STATE_DIR of every deployment the bench makes
 * @property {Cleanup} cleanup register undo steps and started PIDs here
 * @property {(message: string) => void} log progress line on stderr
 */

const GROUPS = [foundation, realtime, batch, asyncPayload, aws, azure, gcp, edge];
const USAGE = `usage: node bench/run.mjs [--only <group>[,<group>...]] [--quick] [--markdown] [--rounds <n>] [--out <file>]
groups: ${GROUPS.map((g) => g.name).join(', ')}
  --only      run these groups only (repeatable or comma-separated)
  --quick     small sizes and short runs: a smoke test of the bench, not a measurement
  --markdown  also print the table as Markdown (for bench/RESULTS.md)
  --rounds    rounds of the alternated A/B groups (realtime, batch; default 3, quick 1–2)
  --out       where to write the JSON results (default bench/out/results.json)`;

let options;
try {
  options = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      out: { type: 'string' },
      rounds: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  console.error(`bench: ${error.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
const only = (options.only ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');
const unknown = only.filter((n) => !GROUPS.some((g) => g.name === n));
if (unknown.length > 0) {
  console.error(`bench: unknown group ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const rounds = options.rounds === undefined ? undefined : Number(options.rounds);
if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) {
  console.error(`bench: --rounds must be a positive integer\n${USAGE}`);
  process.exit(2);
}
const selected = only.length === 0 ? GROUPS : GROUPS.filter((g) => only.includes(g.name));

const missing = missingBuildOutputs();
if (missing.length > 0) {
  console.error(
    `bench: the project is not built (missing ${missing.join(', ')}).\n` +
      'Build it first: `npx tsc -b` (or run `pnpm bench`, which builds before benchmarking).',
  );
  process.exit(2);
}

const cleanup = new Cleanup();
const tmpDir = mkdtempSync(join(os.tmpdir(), 'modelport-bench-'));
cleanup.add('remove the temporary folder', () => rmSync(tmpDir, { recursive: true, force: true }));
const stateDir = join(tmpDir, 'state');
mkdirSync(stateDir);

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping everything the bench started...`);
    void cleanup.runAll().finally(() => process.exit(130));
  });
}
process.on('exit', () => cleanup.killTracked());

const started = performance.now();
const startedAt = new Date();
const loadBefore = os.loadavg();
/** @type {Record<string, any>} */
const groups = {};
for (const group of selected) {
  const log = (message) => console.error(`[${group.name}] ${message}`);
  /** @type {GroupContext} */
  const ctx = { quick: options.quick, rounds, tmpDir, stateDir, cleanup, log };
  const groupStarted = performance.now();
  console.error(`\n== ${group.title}${options.quick ? ' (quick)' : ''}`);
  try {
    const result = await group.run(ctx);
    groups[group.name] = {
      title: group.title,
      seconds: (performance.now() - groupStarted) / 1000,
      metrics: result.metrics.map(judge),
      details: result.details,
    };
  } catch (error) {
    if (interrupted) break;
    log(`FAILED: ${error.stack ?? error.message}`);
    groups[group.name] = {
      title: group.title,
      seconds: (performance.now() - groupStarted) / 1000,
      error: error.message,
      metrics: [],
    };
  }
}
if (interrupted) await new Promise(() => undefined); // the signal handler exits
await cleanup.runAll();

const metrics = Object.values(groups).flatMap((g) => g.metrics);
const summary = {
  passed: metrics.filter((m) => m.pass === true).length,
  failed: metrics.filter((m) => m.pass === false).map((m) => m.id),
  groupErrors: Object.entries(groups)
    .filter(([, g]) => g.error !== undefined)
    .map(([name]) => name),
};
const results = {
  version: 1,
  command: `node bench/run.mjs${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
  date: startedAt.toISOString(),
  quick: options.quick,
  durationSeconds: (performance.now() - started) / 1000,
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverageBefore: loadBefore,
    loadAverageAfter: os.loadavg(),
  },
  summary,
  groups,
};
const outFile = resolve(options.out ?? join(ROOT, 'bench/out/results.json'));
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');

console.log(
  `\nmodelport bench, ${results.date}, ${results.machine.cpus} cores, Node ${process.version}` +
    `${options.quick ? ', QUICK (smoke run: figures are not measurements)' : ''}\n`,
);
console.log(textTable(groups));
if (options.markdown) console.log(`\n${markdownTable(groups)}`);
console.log(
  `\n${summary.passed} target(s) met, ${summary.failed.length} missed${summary.failed.length > 0 ? ` (${summary.failed.join(', ')})` : ''}` +
    `${summary.groupErrors.length > 0 ? `; groups that failed: ${summary.groupErrors.join(', ')}` : ''}; ` +
    `${results.durationSeconds.toFixed(0)} s; results in ${displayPath(outFile)}`,
);
process.exitCode = summary.groupErrors.length > 0 ? 1 : 0;

/** A path relative to the working directory when it lies below it. */
function displayPath(file) {
  const rel = relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') ? file : rel;
}
