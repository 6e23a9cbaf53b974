// Builds the portable serving image that the emulators run in tests, as a folder (rootfs/ + image.json),
// with a DECOY model baked in: a linear classifier with iris's signature whose answers differ from the
// iris model's. Every cloud test deploys the iris model as the user's; an image that served its baked
// model instead of the one the platform gives it would answer the decoy's predictions and fail.
// Cached under node_modules/.cache/modelport/test-serving-image/<hash of the image's code>.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// onnx-proto is a CommonJS bundle whose exports Node cannot detect statically: default import only.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const root = fileURLToPath(new URL('..', import.meta.url));
const edgeDist = join(root, 'packages/edge/dist');
const runtimeDist = join(root, 'packages/runtime/dist');

/** Logits = input · W + B with W chosen so the decoy disagrees with iris on the example payload. */
const DECOY_W = [
  [-0.9, 0.2, 0.7],
  [0.4, -0.8, 0.3],
  [-0.2, 0.6, -0.5],
  [0.8, -0.1, -0.6],
];
const DECOY_B = [0.3, 0.1, -0.4];

function decoyModel() {
  const T = onnx.TensorProto.DataType;
  const INT = onnx.AttributeProto.AttributeType.INT;
  const info = (name, type, dims) => ({
    name,
    type: {
      tensorType: {
        elemType: type,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const graph = {
    name: 'decoy',
    node: [
      { opType: 'Gemm', input: ['input', 'W', 'B'], output: ['logits'] },
      {
        opType: 'Softmax',
        input: ['logits'],
        output: ['probabilities'],
        attribute: [{ name: 'axis', type: INT, i: 1 }],
      },
      {
        opType: 'ArgMax',
        input: ['logits'],
        output: ['label'],
        attribute: [
          { name: 'axis', type: INT, i: 1 },
          { name: 'keepdims', type: INT, i: 0 },
        ],
      },
    ],
    initializer: [
      { name: 'W', dataType: T.FLOAT, dims: [4, 3], floatData: DECOY_W.flat() },
      { name: 'B', dataType: T.FLOAT, dims: [3], floatData: DECOY_B },
    ],
    input: [info('input', T.FLOAT, ['N', 4])],
    output: [info('probabilities', T.FLOAT, ['N', 3]), info('label', T.INT64, ['N'])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'modelport-test-decoy',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

function hashTree(hash, dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, path);
    else if (/\.(m?js|json)$/.test(entry.name) && !entry.name.endsWith('.tsbuildinfo')) {
      hash.update(path.slice(root.length)).update(readFileSync(path));
    }
  }
}

/** The image folder for the current build of the runtime and the image entry; built when missing. */
export async function ensureTestServingImage() {
  if (!existsSync(join(edgeDist, 'index.js')) || !existsSync(join(runtimeDist, 'index.js'))) {
    throw new Error(
      'the test serving image needs packages/edge and packages/runtime built: run `npx tsc -b`',
    );
  }
  const model = decoyModel();
  const hash = createHash('sha256').update(model);
  hashTree(hash, join(edgeDist, 'app'));
  hashTree(hash, runtimeDist);
  hash.update(readFileSync(join(root, 'packages/edge/package.json')));
  const key = hash.digest('hex').slice(0, 16);
  const cache = join(root, 'node_modules/.cache/modelport/test-serving-image');
  const dir = join(cache, key);
  if (existsSync(join(dir, 'image.json'))) {
    utimesSync(dir, new Date(), new Date());
    return dir;
  }
  mkdirSync(cache, { recursive: true });
  // Images of older builds are 145 MB each: drop those unused for an hour (a run in progress elsewhere may
  // still be using a recent one).
  for (const old of readdirSync(cache)) {
    const path = join(cache, old);
    if (Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
  }
  const modelDir = join(cache, `decoy-${key}`);
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(join(modelDir, 'decoy.onnx'), model);
  const edge = await import(pathToFileURL(join(edgeDist, 'index.js')).href);
  const started = Date.now();
  await edge.writeServingImageFolder({
    model: join(modelDir, 'decoy.onnx'),
    name: 'modelport-serving',
    version: '0.1.0',
    dir,
  });
  process.stderr.write(
    `test serving image: built ${dir} in ${Date.now() - started} ms (${Math.round(sizeOf(dir) / 1e6)} MB)\n`,
  );
  return dir;
}

function sizeOf(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? sizeOf(path) : statSync(path).size;
  }
  return total;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await ensureTestServingImage()}\n`);
}
