// The skeleton the cloud provider groups (aws, azure, gcp) share: N endpoint manifests applied at once
// through modelport (A), the same endpoints made by a sequential raw-SDK script (B), each against a fresh
// emulator; the write calls of both, and the write calls of an unchanged re-apply of A (0). Each group keeps
// its manifest, its emulator setup, its modelport wiring and its raw script.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ROOT } from './lib.mjs';

/**
 * The built packages a cloud group drives (core, its DI host, the provider in `providerDir`, testkit), and
 * `fromProvider`, a require from the provider's folder (its SDKs, where it installs them).
 */
export async function loadBuilt(providerDir) {
  const built = (path) => import(pathToFileURL(join(ROOT, path)).href);
  return {
    fromProvider: createRequire(join(providerDir, 'package.json')),
    di: await built('packages/core/dist/di.js'),
    core: await built('packages/core/dist/index.js'),
    provider: await import(pathToFileURL(join(providerDir, 'dist/index.js')).href),
    testkit: await built('packages/testkit/dist/index.js'),
  };
}

/** Imports `id` (an ESM SDK) as the provider resolves it. */
export function importFrom(fromProvider, id) {
  return import(pathToFileURL(fromProvider.resolve(id)).href);
}

/**
 * A Modelport whose provider (the package in `packageDir`, loaded from its declaration as the CLI does)
 * finds `bindings` ([token, value]: its client factory, its options) in its container, with the default
 * engine, and the provider module (and its SDK) loaded with `warmFile`: the script's imports are not timed
 * either.
 */
export async function warmModelport(mods, packageDir, bindings, warmFile) {
  const { core, di } = mods;
  const host = new di.ContainerModuleHost();
  for (const [token, value] of bindings) host.container.bind(token).toConstantValue(value);
  const declaration = core.readDeclaration(packageDir, 'builtin');
  const mp = new core.Modelport({ registry: new core.LazyProviderRegistry([declaration], host) });
  await mp.validate(warmFile);
  await mp.plan(warmFile);
  return mp;
}

/**
 * @typedef {object} Fleet
 * @property {string} cloud  the group's id: metric ids, temp folder
 * @property {string} what  what is deployed, for labels ("SageMaker endpoints")
 * @property {string} [writesWhat]  what is counted, for the writes label (default "write calls")
 * @property {number} latencyMs  latency the emulator adds per call
 * @property {number} pollMs
 * @property {(endpoint: string) => string} manifestText
 * @property {(fn: (cloud: any) => Promise<any>) => Promise<any>} withCloud  a fresh emulator around `fn`
 * @property {(cloud: any) => any} emulator  the emulator whose counters are read
 * @property {'reads' | 'calls'} other  the second count: read calls, or every call
 * @property {(cloud: any, files: string[]) => Promise<{ mp: any, close?: () => Promise<void> }>} modelport
 *   A's Modelport, wired to the emulator and warmed
 * @property {(cloud: any, endpoints: string[]) => Promise<{ run: () => Promise<void>, close?: () => Promise<unknown> }>} rawScript
 *   B, its clients made and warmed
 * @property {(cloud: any) => void} [beforeClock]  after the warm-up, before counting (e.g. turn latency on)
 * @property {(cloud: any) => number} serving  endpoints serving after A
 * @property {string} servingWord  "InService", "serving"
 * @property {string} violationsWord  "spec violations", "ARM schema violations"
 * @property {(files: string[]) => Promise<void>} [prelude]  runs once the manifests are written, before A
 */

/**
 * Runs A and B of `fleet` and returns the three rows every cloud group prints (apply wall time, apply
 * writes, re-apply writes) and its details.
 * @param {import('./run.mjs').GroupContext} ctx
 * @param {Fleet} fleet
 */
export async function applyFleet(ctx, fleet) {
  const { cloud: id, latencyMs, other } = fleet;
  const count = ctx.quick ? 5 : 20;
  const dir = join(ctx.tmpDir, id);
  mkdirSync(dir, { recursive: true });
  const suffix = createHash('sha256').update(String(process.pid)).digest('hex').slice(0, 4);
  const endpoints = Array.from(
    { length: count },
    (_, i) => `bench-${suffix}-${String(i + 1).padStart(2, '0')}`,
  );
  const files = endpoints.map((endpoint) => {
    const file = join(dir, `${endpoint}.yaml`);
    writeFileSync(file, fleet.manifestText(endpoint));
    return file;
  });
  await fleet.prelude?.(files);

  const counts = (emulator) => ({
    writes: emulator.writeCalls(),
    other: other === 'reads' ? emulator.readCalls() : emulator.totalCalls(),
  });
  const since = (emulator, before) => {
    const now = counts(emulator);
    return { writes: now.writes - before.writes, other: now.other - before.other };
  };

  // A: modelport, all manifests applied concurrently; then the unchanged re-apply.
  const a = await fleet.withCloud(async (cloud) => {
    const emulator = fleet.emulator(cloud);
    const { mp, close } = await fleet.modelport(cloud, files);
    fleet.beforeClock?.(cloud);
    const before = counts(emulator);
    const started = performance.now();
    const outcomes = await Promise.all(files.map((file) => mp.apply(file)));
    const ms = performance.now() - started;
    const failed = outcomes.flat().filter((o) => !o.result.ok);
    if (failed.length > 0)
      throw new Error(
        `modelport: ${failed.length} apply(s) failed: ${failed[0].result.failed[0]?.error.message}`,
      );
    const { writes, other: others } = since(emulator, before);
    const serving = fleet.serving(cloud);
    const beforeReapply = counts(emulator);
    const reStarted = performance.now();
    await Promise.all(files.map((file) => mp.apply(file)));
    const reapplyMs = performance.now() - reStarted;
    const reapplyWrites = since(emulator, beforeReapply).writes;
    const violations = emulator.violations.length;
    await close?.();
    return { ms, writes, others, serving, reapplyMs, reapplyWrites, violations };
  });
  ctx.log(
    `modelport: ${count} endpoints in ${(a.ms / 1000).toFixed(1)} s, ${a.writes} writes, ${a.others} ${other}; re-apply ${a.reapplyWrites} writes`,
  );

  // B: the raw script, sequential.
  const b = await fleet.withCloud(async (cloud) => {
    const emulator = fleet.emulator(cloud);
    const script = await fleet.rawScript(cloud, endpoints);
    fleet.beforeClock?.(cloud);
    const before = counts(emulator);
    const started = performance.now();
    await script.run();
    const ms = performance.now() - started;
    const { writes, other: others } = since(emulator, before);
    await script.close?.();
    return { ms, writes, others };
  });
  ctx.log(
    `raw script: ${count} endpoints in ${(b.ms / 1000).toFixed(1)} s, ${b.writes} writes, ${b.others} ${other}`,
  );
  rmSync(dir, { recursive: true, force: true });

  const invalid =
    a.serving !== count
      ? `${a.serving}/${count} endpoints ${fleet.servingWord}`
      : a.violations > 0
        ? `${a.violations} ${fleet.violationsWord}`
        : undefined;
  return {
    files,
    metrics: [
      {
        id: `${id}.apply-wall`,
        label: `apply ${count} ${fleet.what}: modelport vs a sequential raw-SDK script (${latencyMs} ms/call)`,
        unit: 'ms',
        subject: a.ms,
        baseline: b.ms,
        ratio: a.ms / b.ms,
        target: { on: 'ratio', op: '<=', value: 0.3 },
        ...(invalid === undefined ? {} : { error: invalid }),
      },
      {
        id: `${id}.apply-writes`,
        label: `${fleet.writesWhat ?? 'write calls'} to apply ${count} endpoints: modelport vs the raw script`,
        unit: 'calls',
        subject: a.writes,
        baseline: b.writes,
        ratio: a.writes / b.writes,
        target: { on: 'ratio', op: '<=', value: 1 },
      },
      {
        id: `${id}.reapply-writes`,
        label: `write calls of an unchanged re-apply of ${count} endpoints`,
        unit: 'calls',
        subject: a.reapplyWrites,
        target: { on: 'subject', op: '==', value: 0 },
        note: `re-apply took ${Math.round(a.reapplyMs)} ms (reads only)`,
      },
    ],
    details: {
      endpoints: count,
      latencyMsPerCall: latencyMs,
      pollMs: fleet.pollMs,
      modelport: {
        ms: a.ms,
        writes: a.writes,
        [other]: a.others,
        reapplyMs: a.reapplyMs,
        reapplyWrites: a.reapplyWrites,
      },
      rawScript: { ms: b.ms, writes: b.writes, [other]: b.others },
    },
  };
}

/** The standalone run of a group (`node bench/<cloud>.mjs [--quick]`): its result as JSON on stdout. */
export async function runStandalone(id, run) {
  const { tmpdir } = await import('node:os');
  const tmp = join(tmpdir(), `modelport-bench-${id}-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const result = await run({
    quick: process.argv.includes('--quick'),
    tmpDir: tmp,
    stateDir: tmp,
    cleanup: undefined,
    log: (m) => console.error(`[${id}] ${m}`),
  });
  rmSync(tmp, { recursive: true, force: true });
  console.log(JSON.stringify(result, null, 2));
}
