#!/usr/bin/env node
// One entry for a fresh clone with only Node >= 20: finds (or fetches) the pinned pnpm, installs,
// builds, then runs the task. `npm test` / `pnpm test` → test, `npm run demo` → demo, `npm run bench`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const task = process.argv[2] ?? 'setup';
const pinned = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).packageManager.replace(/^pnpm@/, '');

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node ${process.versions.node} is too old: modelport needs Node 20 or newer`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`${command} ${args.join(' ')}: ${result.error.message}`);
  return result.status ?? 1;
}

function must(command, args) {
  const status = run(command, args);
  if (status !== 0) process.exit(status);
}

function fail(message) {
  console.error(`bootstrap: ${message}`);
  process.exit(1);
}

/** The pnpm to use: the one on PATH when it is the pinned version, else the pinned one through npm. */
function resolvePnpm() {
  const probe = spawnSync('pnpm', ['--version'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, COREPACK_ENABLE_STRICT: '0' },
  });
  if (probe.status === 0 && probe.stdout.trim() === pinned) return ['pnpm', []];
  // npm exec fetches the exact version from the registry once and caches it.
  return ['npm', ['exec', '--yes', `--package=pnpm@${pinned}`, '--', 'pnpm']];
}

const [pnpm, prefix] = resolvePnpm();
const pnpmRun = (...args) => must(pnpm, [...prefix, ...args]);

pnpmRun('install', '--frozen-lockfile', '--reporter=append-only');
pnpmRun('run', 'build');

switch (task) {
  case 'setup':
    break;
  case 'test':
    pnpmRun('run', 'check');
    pnpmRun('run', 'test:run');
    break;
  case 'demo':
    must(process.execPath, ['examples/iris/quickstart.mjs']);
    break;
  case 'bench':
    must(process.execPath, ['bench/run.mjs', ...process.argv.slice(3)]);
    break;
  default:
    fail(`unknown task "${task}" (setup, test, demo, bench)`);
}
