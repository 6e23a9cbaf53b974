// Group "edge": packaging a 100 MB model into an offline bundle (Node + runtime + onnxruntime + model, a
// reproducible tar.gz) against `tar -czf` of the very same files, and the bundle's bytes beyond
// model + Node + runtime. Three packaging cases, since the packager caches compressed content by hash:
//   cold        empty cache: everything compressed (the like-for-like comparison with tar -czf);
//   new model   Node and onnxruntime cached from an earlier build, the model new (the usual rebuild);
//   unchanged   everything cached (a rebuild that changes nothing).
// Interface (what bench/run.mjs expects of a group): export `name`, `title` and
// `async run(ctx) -> { metrics, details }`, ctx = { quick, tmpDir, log, ... } (see run.mjs GroupContext).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import onnxProto from 'onnx-proto';

import { median, paths, ROOT } from './lib.mjs';

// fflate as the edge package has it (the packager's compressor).
const fflate = createRequire(join(ROOT, 'packages/edge/package.json'))('fflate');

export const name = 'edge';
export const title = 'Edge packaging: a 100 MB model bundled vs `tar -czf` of the same files';

const MIB = 1024 * 1024;

/**
 * A valid ONNX model of about `mib` MiB: y = x · W with W a float32 [4, n] initializer of seeded
 * pseudo-random values (real weights compress about as badly). Same bytes on every run.
 */
export function writeBigModel(path, mib) {
  const { onnx } = onnxProto;
  const columns = Math.round((mib * MIB) / 4 / 4);
  const weights = new Float32Array(4 * columns);
  let state = 12345;
  for (let i = 0; i < weights.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    weights[i] = state / 2 ** 31 - 1;
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'modelport-bench',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'big',
      node: [{ opType: 'MatMul', input: ['input', 'W'], output: ['output'] }],
      initializer: [
        {
          name: 'W',
          dataType: onnx.TensorProto.DataType.FLOAT,
          dims: [4, columns],
          rawData: new Uint8Array(weights.buffer),
        },
      ],
      input: [tensorInfo(onnx, 'input', [-1, 4])],
      output: [tensorInfo(onnx, 'output', [-1, columns])],
    },
  });
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
}

function tensorInfo(onnx, name, dims) {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (d < 0 ? { dimParam: 'batch' } : { dimValue: d })) },
      },
    },
  };
}

const seconds = async (fn) => {
  const started = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - started) / 1000 };
};

/** The time of `tar -czf` (GNU tar piping to gzip -6, as anyone would) over a folder. */
function tarCzf(dir, out) {
  const started = performance.now();
  const result = spawnSync('tar', ['-czf', out, '-C', dir, '.'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar -czf failed: ${result.stderr}`);
  return { seconds: (performance.now() - started) / 1000, bytes: statSync(out).size };
}

/** @param {import('./run.mjs').GroupContext} ctx */
export async function run(ctx) {
  const edge = await import(pathToFileURL(join(ROOT, 'packages/edge/dist/index.js')).href);
  const core = await import(pathToFileURL(paths.core).href);
  const modelMiB = ctx.quick ? 10 : 100;
  const rounds = ctx.quick ? 1 : 2;
  const work = join(ctx.tmpDir, 'edge');
  mkdirSync(work, { recursive: true });

  const manifestFor = (modelPath, label) => {
    const dir = join(work, `manifest-${label}`);
    mkdirSync(dir, { recursive: true });
    const text = [
      'apiVersion: modelport.dev/v1alpha1',
      'kind: EdgePackage',
      'metadata: { name: bench-edge }',
      'spec:',
      `  model: { format: onnx, uri: ${JSON.stringify(modelPath)} }`,
      '  edge: { formats: [tar.gz], platforms: [linux/amd64] }',
      '',
    ].join('\n');
    const loaded = core.loadManifestText(
      text,
      { file: join(dir, 'edge.yaml'), baseDir: dir },
      { installedProviders: [], capabilitiesOf: () => undefined },
    );
    if (loaded.manifests.length !== 1)
      throw new Error(`bench manifest does not load: ${JSON.stringify(loaded.diagnostics)}`);
    return loaded.manifests[0];
  };

  ctx.log(`writing a ${modelMiB} MiB ONNX model (and a second one for the new-model case)`);
  const modelA = join(work, 'a', 'model.onnx');
  const modelB = join(work, 'b', 'model.onnx');
  mkdirSync(join(work, 'a'));
  mkdirSync(join(work, 'b'));
  writeBigModel(modelA, modelMiB);
  writeBigModel(modelB, modelMiB + 1); // other weights, other bytes
  const modelBytes = statSync(modelA).size;

  const samples = { cold: [], newModel: [], unchanged: [], tar: [] };
  let bundlePath;
  let tarBytes;
  for (let round = 0; round < rounds; round++) {
    const cache = join(work, `cache-${round}`);
    const out = join(work, `out-${round}`);
    const packageWith = (model, label, cacheDir) =>
      seconds(() =>
        edge.packageEdge(manifestFor(model, label), {
          outDir: join(out, label),
          cacheDir,
          formats: ['tar.gz'],
          platforms: ['linux/amd64'],
        }),
      );

    // The baseline needs the bundle's files: the cold build makes them, then tar runs on the extracted copy.
    // The order of cold build and tar flips every round (the machine is shared).
    const cold = await packageWith(modelA, 'cold', cache);
    bundlePath = cold.value[0].path;
    const staged = join(work, `staged-${round}`);
    await edge.extractBundle(bundlePath, staged);
    const tarOnce = () => tarCzf(staged, join(work, `tar-${round}.tar.gz`));
    let tar;
    if (round % 2 === 0) tar = tarOnce();
    const newModel = await packageWith(modelB, 'new-model', cache);
    const unchanged = await packageWith(modelB, 'unchanged', cache);
    if (round % 2 === 1) tar = tarOnce();
    tarBytes = tar.bytes;
    samples.cold.push(cold.seconds);
    samples.newModel.push(newModel.seconds);
    samples.unchanged.push(unchanged.seconds);
    samples.tar.push(tar.seconds);
    ctx.log(
      `round ${round + 1}: cold ${cold.seconds.toFixed(1)} s, new model ${newModel.seconds.toFixed(1)} s, unchanged ${unchanged.seconds.toFixed(1)} s; tar -czf ${tar.seconds.toFixed(1)} s`,
    );
    rmSync(staged, { recursive: true, force: true });
    // Keep the disk use down: only the last round's cold bundle and cache are looked at below.
    rmSync(join(out, 'new-model'), { recursive: true, force: true });
    rmSync(join(out, 'unchanged'), { recursive: true, force: true });
    if (round < rounds - 1) {
      rmSync(cache, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  }

  // Bytes beyond model + Node + runtime: everything in the bundle that is not the ONNX file, bin/node,
  // onnxruntime's files or the modelport runtime's JS (app/server.mjs, run.mjs), uncompressed and in the
  // .tar.gz. Compressed, the payload is counted at its size deflated alone by the packager's compressor
  // (fflate, level 6: the cache holds exactly those bytes for large files), so the overhead is what the
  // bundle adds: tar headers and padding, gzip framing, bundle.json, the signature, licences, scripts.
  const lastCache = join(work, `cache-${rounds - 1}`);
  const staged = join(work, 'staged-final');
  await edge.extractBundle(bundlePath, staged);
  const manifest = JSON.parse(readFileSync(join(staged, 'bundle.json'), 'utf8'));
  const isPayload = (path) =>
    path.startsWith('model/') ||
    path === 'bin/node' ||
    path.startsWith('node_modules/') ||
    path === 'app/server.mjs' ||
    path === 'run.mjs';
  const payload = manifest.files.filter((f) => isPayload(f.path));
  const extras = manifest.files.filter((f) => !isPayload(f.path));
  const payloadBytes = payload.reduce((sum, f) => sum + f.size, 0);
  const cacheFolder = join(lastCache, 'deflate-v1', 'fflate-0.8.3-l6');
  const deflatedSize = (file) => {
    try {
      return statSync(join(cacheFolder, file.sha256)).size - 12; // minus the cache entry's crc + size header
    } catch {
      return fflate.deflateSync(readFileSync(join(staged, file.path)), { level: 6 }).length;
    }
  };
  const payloadGzipBytes = payload.reduce((sum, f) => sum + deflatedSize(f), 0);
  const bundleBytes = statSync(bundlePath).size;
  const tarUncompressed = spawnSync('sh', ['-c', `gzip -dc '${bundlePath}' | wc -c`], { encoding: 'utf8' });
  const uncompressedBytes = Number(tarUncompressed.stdout.trim());
  const extraFiles = extras.reduce((sum, f) => sum + f.size, 0);
  rmSync(staged, { recursive: true, force: true });

  const tarMedian = median(samples.tar);
  const ratio = (values) => median(values) / tarMedian;
  ctx.log(
    `bundle ${bundleBytes} bytes (tar -czf ${tarBytes}); beyond model + Node + runtime: ${uncompressedBytes - payloadBytes} uncompressed, ${bundleBytes - payloadGzipBytes} compressed`,
  );
  return {
    metrics: [
      {
        id: 'edge.package-cold',
        label: `package a ${modelMiB} MB model, empty cache (all compressed) vs \`tar -czf\` of the same files`,
        unit: 's',
        subject: median(samples.cold),
        baseline: tarMedian,
        ratio: ratio(samples.cold),
        target: { on: 'ratio', op: '<=', value: 2 },
      },
      {
        id: 'edge.package-new-model',
        label: `package a new ${modelMiB} MB model, Node + onnxruntime cached, vs \`tar -czf\``,
        unit: 's',
        subject: median(samples.newModel),
        baseline: tarMedian,
        ratio: ratio(samples.newModel),
        target: { on: 'ratio', op: '<=', value: 1 },
      },
      {
        id: 'edge.package-unchanged',
        label: 'rebuild with nothing changed (everything cached) vs `tar -czf`',
        unit: 's',
        subject: median(samples.unchanged),
        baseline: tarMedian,
        ratio: ratio(samples.unchanged),
      },
      {
        id: 'edge.bundle-size',
        label: 'bundle .tar.gz size vs `tar -czf` of the same files',
        unit: 'MiB',
        subject: bundleBytes / MIB,
        baseline: tarBytes / MIB,
        ratio: bundleBytes / tarBytes,
        target: { on: 'ratio', op: '<=', value: 1.05 },
      },
      {
        id: 'edge.overhead-compressed',
        label: 'bundle bytes beyond model + Node + runtime, in the .tar.gz',
        unit: 'KiB',
        subject: (bundleBytes - payloadGzipBytes) / 1024,
        target: { on: 'subject', op: '<=', value: 256 },
      },
      {
        id: 'edge.overhead-uncompressed',
        label: 'bundle bytes beyond model + Node + runtime, uncompressed (files + tar headers)',
        unit: 'KiB',
        subject: (uncompressedBytes - payloadBytes) / 1024,
      },
    ],
    details: {
      modelBytes,
      rounds,
      samples,
      bundleBytes,
      tarBytes,
      payload: { files: payload.length, bytes: payloadBytes, gzipBytes: payloadGzipBytes },
      extras: { files: extras.map((f) => `${f.path} (${f.size})`), bytes: extraFiles },
      uncompressedBytes,
    },
  };
}
