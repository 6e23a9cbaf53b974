// Group "foundation": (a) wall time of `modelport validate` against a bare `node -e ""`, (b) in-process
// validation throughput of the core package, on parsed objects and from YAML text.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { median, paths, ROOT } from './lib.mjs';

export const name = 'foundation';
export const title = 'Foundation: CLI start-up, manifest validation';

/** Wall time of one synchronous process run, in ms; throws when it fails. */
function timeProcess(args, env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited with ${result.status}: ${result.stderr || result.stdout}`);
  }
  return ms;
}

/** @param {import('./run.mjs').GroupContext} ctx */
async function cliStartup(ctx) {
  const warmups = ctx.quick ? 1 : 2;
  const runs = ctx.quick ? 5 : 15;
  const env = { ...process.env, MODELPORT_STATE_DIR: ctx.stateDir, NO_COLOR: '1' };
  const validate = [paths.cli, 'validate', 'examples/iris/endpoint.yaml'];
  const bare = ['-e', ''];
  const subject = [];
  const baseline = [];
  for (let i = 0; i < warmups + runs; i++) {
    // Alternate, and flip the order every pair so neither always runs second.
    const pair = i % 2 === 0 ? ['s', 'b'] : ['b', 's'];
    for (const which of pair) {
      const ms = which === 's' ? timeProcess(validate, env) : timeProcess(bare, env);
      if (i >= warmups) (which === 's' ? subject : baseline).push(ms);
    }
  }
  const ratios = subject.map((s, i) => s / baseline[i]);
  ctx.log(
    `validate ${median(subject).toFixed(0)} ms, node -e "" ${median(baseline).toFixed(0)} ms (${runs} runs each)`,
  );
  return { runs, warmups, subjectMs: subject, baselineMs: baseline, medianPairRatio: median(ratios) };
}

/** Runs `fn` over the items for about `seconds`; returns items per second. */
function throughput(items, fn, seconds) {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let count = 0;
  let now = started;
  while (now < deadline) {
    for (let i = 0; i < 256; i++) fn(items[(count + i) % items.length]);
    count += 256;
    now = performance.now();
  }
  return count / ((now - started) / 1000);
}

/** @param {import('./run.mjs').GroupContext} ctx */
async function inProcess(ctx) {
  const core = await import(pathToFileURL(paths.core).href);
  const { capabilities } = await import(pathToFileURL(paths.localCapabilities).href);
  const semanticContext = {
    installedProviders: ['local'],
    capabilitiesOf: (id) => (id === 'local' ? capabilities : undefined),
  };
  const files = [paths.endpointManifest, paths.asyncManifest, paths.batchManifest];
  const texts = files.map((file) => ({
    text: readFileSync(file, 'utf8'),
    origin: { file, baseDir: dirname(file) },
  }));
  const objects = texts.map(({ text, origin }) => {
    const loaded = core.loadManifestText(text, origin, semanticContext);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0 || loaded.manifests.length !== 1) {
      throw new Error(`${origin.file} does not validate: ${JSON.stringify(errors)}`);
    }
    return loaded.manifests[0].manifest;
  });

  // Layers 1 + 2 on already-parsed objects (what an API caller with a manifest object pays).
  const validateObject = (manifest) => {
    if (core.validateAgainstSchema(manifest).length > 0) throw new Error('schema errors');
    if (core.checkSemantics(manifest, semanticContext).some((i) => i.severity === 'error')) {
      throw new Error('semantic errors');
    }
  };
  // Everything from text: parse, both layers (positions are only computed for diagnostics).
  const loadText = ({ text, origin }) => {
    if (core.loadManifestText(text, origin, semanticContext).manifests.length !== 1)
      throw new Error('invalid');
  };
  // The same manifests as JSON text (what CI pipelines generating manifests often write).
  const jsonTexts = objects.map((manifest, i) => ({
    text: JSON.stringify(manifest),
    origin: { ...texts[i].origin, file: texts[i].origin.file.replace(/\.ya?ml$/, '.json') },
  }));
  // Yardstick for the text path: the YAML parser core uses (js-yaml), alone, on the same texts.
  const jsyaml = createRequire(join(ROOT, 'packages/core/package.json'))('js-yaml');
  const parseYaml = ({ text }) => {
    if (jsyaml.loadAll(text, undefined, { schema: jsyaml.CORE_SCHEMA }).length !== 1)
      throw new Error('not one document');
  };

  const seconds = ctx.quick ? 0.25 : 1;
  const rounds = ctx.quick ? 2 : 5;
  throughput(objects, validateObject, seconds / 2); // warm-up (JIT)
  throughput(texts, loadText, seconds / 2);
  throughput(texts, parseYaml, seconds / 2);
  throughput(jsonTexts, loadText, seconds / 2);
  const objectRates = [];
  const textRates = [];
  const yamlRates = [];
  const jsonRates = [];
  for (let round = 0; round < rounds; round++) {
    objectRates.push(throughput(objects, validateObject, seconds));
    textRates.push(throughput(texts, loadText, seconds));
    yamlRates.push(throughput(texts, parseYaml, seconds));
    jsonRates.push(throughput(jsonTexts, loadText, seconds));
  }
  ctx.log(
    `validate parsed objects ${Math.round(median(objectRates))}/s, loadManifestText YAML ${Math.round(median(textRates))}/s, ` +
      `JSON ${Math.round(median(jsonRates))}/s, js-yaml parse alone ${Math.round(median(yamlRates))}/s`,
  );
  return {
    rounds,
    secondsPerRound: seconds,
    manifests: files.map((f) => f.slice(ROOT.length)),
    objectRates,
    textRates,
    yamlRates,
    jsonRates,
  };
}

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  const startup = await cliStartup(ctx);
  const validation = await inProcess(ctx);
  const subjectMs = median(startup.subjectMs);
  const baselineMs = median(startup.baselineMs);
  return {
    metrics: [
      {
        id: 'foundation.cli-validate',
        label: '`modelport validate` wall time vs `node -e ""`',
        unit: 'ms',
        subject: subjectMs,
        baseline: baselineMs,
        ratio: subjectMs / baselineMs,
        target: { on: 'ratio', op: '<=', value: 3 },
      },
      {
        id: 'foundation.validate-objects',
        label: 'validation of parsed manifests (schema + semantics)',
        unit: 'manifests/s',
        subject: median(validation.objectRates),
        target: { on: 'subject', op: '>=', value: 20_000 },
      },
      {
        id: 'foundation.load-yaml-text',
        label: 'loadManifestText from YAML text (parse + validate); baseline: js-yaml parse alone',
        unit: 'manifests/s',
        subject: median(validation.textRates),
        baseline: median(validation.yamlRates),
        ratio: median(validation.textRates) / median(validation.yamlRates),
      },
      {
        id: 'foundation.load-json-text',
        label: 'loadManifestText from JSON text (parse + validate)',
        unit: 'manifests/s',
        subject: median(validation.jsonRates),
      },
    ],
    details: { startup, validation },
  };
}
