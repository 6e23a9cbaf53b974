// Test support: images for the emulated ECR. The real serving image (with its decoy model), deliberately
// broken variants of it, and tiny fake images (a folder: rootfs/ with a node script, image.json) that
// record what the platform sent them.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerImage } from '@modelport/testkit';
import {
  BIND_TO_PORT_LABEL,
  DOCKER_MANIFEST_V2,
  freePort,
  imageVariant,
  pushedToEcr,
  readImageFolder,
  testServingImage,
} from '@modelport/testkit';

/** The real serving image, as `modelport image push` puts it in ECR. */
export async function servingImage(): Promise<ContainerImage> {
  return pushedToEcr(await testServingImage());
}

/** Serves the model baked into it (the decoy) whatever SageMaker mounts: `--model` wins over MODELPORT_MODEL. */
export function ignoresModelPath(image: ContainerImage): ContainerImage {
  return imageVariant(image, {
    Entrypoint: [...(image.config.Entrypoint ?? []), '--model', '/opt/modelport/model/decoy.onnx'],
  });
}

/** Listens on a port of its own instead of SAGEMAKER_BIND_TO_PORT. */
export async function wrongPort(image: ContainerImage): Promise<ContainerImage> {
  return imageVariant(image, {
    Entrypoint: [...(image.config.Entrypoint ?? []), '--port', String(await freePort())],
  });
}

/** Exits at once with code 3, saying why on stderr. */
export function exitsAtStart(image: ContainerImage): ContainerImage {
  return imageVariant(image, {
    Entrypoint: [
      '/opt/modelport/bin/node',
      '-e',
      "process.stderr.write('cannot load the model: broken on purpose\\n'); process.exit(3)",
    ],
  });
}

/**
 * Always serves, whatever command the platform passes (`batch` included): an image without a batch mode.
 * A shell drops the arguments; the node and entry paths go through variables so they are rebased.
 */
export async function neverExits(image: ContainerImage): Promise<ContainerImage> {
  const [node = '', entry = ''] = image.config.Entrypoint ?? [];
  return imageVariant(image, {
    Entrypoint: ['/bin/sh', '-c', 'exec "$MP_NODE" "$MP_ENTRY" serve --port "$MP_PORT"', 'sh'],
    Env: [...(image.config.Env ?? []), `MP_NODE=${node}`, `MP_ENTRY=${entry}`, `MP_PORT=${await freePort()}`],
  });
}

/**
 * A fake model server in a folder of its own (rootfs/server.mjs, image.json), listening on
 * SAGEMAKER_BIND_TO_PORT: GET /ping 200; GET /execution-parameters 404 (counted);
 * POST /invocations answers `behaviour(request)` — by default one JSON line per line of the body, echoing
 * the headers it got, the SageMaker variables it was started with, and the request's size and number.
 * `FAKE_REFUSE_TYPES` (comma-separated) are answered 415, as the serving image of audit A2 did.
 */
export async function fakeImage(
  dir: string,
  options: { refuseTypes?: string[] } = {},
): Promise<ContainerImage> {
  await mkdir(join(dir, 'rootfs', 'app'), { recursive: true });
  await writeFile(join(dir, 'rootfs', 'app', 'server.mjs'), FAKE_SERVER);
  await writeFile(
    join(dir, 'image.json'),
    JSON.stringify({
      manifestMediaType: DOCKER_MANIFEST_V2,
      config: {
        Entrypoint: [process.execPath, '/app/server.mjs'],
        Env: [`FAKE_REFUSE_TYPES=${(options.refuseTypes ?? []).join(',')}`],
        Labels: { [BIND_TO_PORT_LABEL]: 'true' },
      },
    }),
  );
  return readImageFolder(dir);
}

const FAKE_SERVER = `
import { createServer } from 'node:http';
const refuse = (process.env.FAKE_REFUSE_TYPES || '').split(',').filter(Boolean);
let executionParameters = 0;
let requests = 0;
createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'GET' && req.url === '/ping') return res.writeHead(200).end('ok');
    if (req.method === 'GET' && req.url === '/execution-parameters') {
      executionParameters++;
      return res.writeHead(404).end();
    }
    if (req.method === 'POST' && req.url === '/invocations') {
      const type = String(req.headers['content-type'] || '');
      if (refuse.includes(type)) {
        return res.writeHead(415, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unsupported_media_type: ' + type }));
      }
      requests++;
      const seen = {
        args: process.argv.slice(2),
        contentType: type,
        accept: req.headers['accept'] ?? null,
        customAttributes: req.headers['x-amzn-sagemaker-custom-attributes'] ?? null,
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SAGEMAKER_') || k.startsWith('MODELPORT_'))),
        executionParameters,
        request: requests,
        bytes: Buffer.byteLength(body),
      };
      const lines = body.split('\\n').filter((l) => l !== '');
      const out = lines.map((line) => JSON.stringify({ ...seen, record: line.slice(0, 40) })).join('\\n') + '\\n';
      return res.writeHead(200, { 'content-type': req.headers['accept'] || 'application/jsonlines' }).end(out);
    }
    res.writeHead(404).end();
  });
}).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT || 8080), process.env.MODELPORT_HOST || '0.0.0.0');
`;
