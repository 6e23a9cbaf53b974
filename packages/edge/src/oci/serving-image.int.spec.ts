// The amd64 serving image: an OCI layout that Debian's oci-image-tool, skopeo and umoci accept, whose
// rootfs (unpacked by umoci) runs its entrypoint in a chroot as the image user and answers every
// cloud's contract with the model's predictions.
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OnnxModel } from '@modelport/runtime';

import { packageEdge } from '../packager.js';
import {
  flipByte,
  assertAppBuilt,
  freePort,
  IRIS_PAYLOAD,
  loadEdgeManifest,
  postJson,
  REPO_ROOT,
  start,
  stop,
  stopAll,
  TEST_CACHE_DIR,
  waitForLine,
} from '../testing/fixtures.js';
import { isRoot, missingTools, tool, which } from '../testing/tools.js';
import { readImageLayout } from './image-layout.js';

const missing = missingTools('oci-image-tool', 'skopeo', 'umoci', 'dpkg-deb', 'apt-get');
if (missing.length > 0)
  console.warn(
    `skipping the OCI image tests: missing ${missing.join(', ')} (apt-get install ${missing.join(' ')})`,
  );

let work: string;
let layout: string;
const TAG = '1.0.0';

beforeAll(async () => {
  if (missing.length > 0) return;
  assertAppBuilt();
  work = await mkdtemp(join(tmpdir(), 'modelport-oci-'));
  const artifacts = await packageEdge(await loadEdgeManifest(), {
    outDir: join(work, 'out'),
    formats: ['oci'],
    platforms: ['linux/amd64'],
    cacheDir: TEST_CACHE_DIR,
  });
  layout = artifacts[0]?.path ?? '';
}, 240_000);

afterAll(async () => {
  await stopAll();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(missing.length > 0)('the serving image (OCI layout, linux/amd64)', () => {
  it('passes oci-image-tool validate --type image', async () => {
    const result = await tool('oci-image-tool', [
      'validate',
      '--type',
      'image',
      '--ref',
      `name=${TAG}`,
      layout,
    ]);
    expect(result.stderr + result.stdout).toContain('Validation succeeded');
    expect(result.code).toBe(0);
  });

  it('carries the serving contract in its config: entrypoint, port 8080, env, labels, non-root user', async () => {
    const { config, manifest } = await readImageLayout(layout, TAG);
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux' });
    expect(config.config.Entrypoint).toEqual(['/opt/modelport/bin/node', '/opt/modelport/run.mjs']);
    expect(config.config.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(config.config.Env).toContain('MODELPORT_HOST=0.0.0.0');
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Labels?.['com.amazonaws.sagemaker.capabilities.accept-bind-to-port']).toBe('true');
    expect(config.rootfs.diff_ids).toHaveLength(manifest.layers.length);
    expect(JSON.stringify(config)).not.toMatch(/"created"/); // no build time: rebuilds give the same digest
  });

  it('is copied by skopeo (which checks every blob) and a corrupted blob is refused', async () => {
    const copy = join(work, 'copy');
    const copied = await tool('skopeo', ['copy', `oci:${layout}:${TAG}`, `oci:${copy}:${TAG}`]);
    expect(copied.stderr).not.toMatch(/error/i);
    expect(copied.code).toBe(0);
    const inspected = await tool('skopeo', ['inspect', '--raw', `oci:${copy}:${TAG}`]);
    const { manifestDescriptor } = await readImageLayout(layout, TAG);
    const { createHash } = await import('node:crypto');
    expect(`sha256:${createHash('sha256').update(inspected.stdout).digest('hex')}`).toBe(
      manifestDescriptor.digest,
    );

    // One flipped byte in the model layer: oci-image-tool and umoci must both notice.
    const broken = join(work, 'broken');
    await cp(layout, broken, { recursive: true });
    const { manifest } = await readImageLayout(broken, TAG);
    const modelLayer = manifest.layers[manifest.layers.length - 1]!;
    const blob = join(broken, 'blobs/sha256', modelLayer.digest.slice(7));
    const bytes = await readFile(blob);
    flipByte(bytes, bytes.length >> 1);
    await writeFile(blob, bytes);
    const validated = await tool('oci-image-tool', [
      'validate',
      '--type',
      'image',
      '--ref',
      `name=${TAG}`,
      broken,
    ]);
    expect(validated.code).not.toBe(0);
    const unpacked = await tool('umoci', [
      'unpack',
      '--image',
      `${broken}:${TAG}`,
      join(work, 'broken-bundle'),
    ]);
    expect(unpacked.code).not.toBe(0);
  });

  it.skipIf(!isRoot || which('chroot') === undefined)(
    'unpacks with umoci and serves from the rootfs in a chroot, as the image user: SageMaker, Vertex AI, KServe v1/v2, Azure ML',
    async () => {
      const bundle = join(work, 'bundle');
      const unpacked = await tool('umoci', ['unpack', '--image', `${layout}:${TAG}`, bundle]);
      expect(unpacked.stderr).not.toMatch(/level=(error|fatal)/);
      expect(unpacked.code).toBe(0);
      const runtimeSpec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
        process: { args: string[]; env: string[]; user: { uid: number; gid: number } };
      };
      const rootfs = join(bundle, 'rootfs');
      const port = await freePort();
      const env: Record<string, string> = {};
      for (const pair of runtimeSpec.process.env)
        env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
      // Vertex AI tells the container its port and routes through AIP_* variables.
      Object.assign(env, {
        AIP_HTTP_PORT: String(port),
        AIP_HEALTH_ROUTE: '/vertex/health',
        AIP_PREDICT_ROUTE: '/vertex/predict',
      });
      // The queue is off in the image by default (IoT Edge turns it on): on here, to see that the image
      // user can write its spool.
      const queuePort = await freePort();
      env['MODELPORT_QUEUE_PORT'] = String(queuePort);

      // onnxruntime reads /proc/cpuinfo (as in any container runtime): mount it for the run, then unmount.
      await mkdir(join(rootfs, 'proc'), { recursive: true });
      expect((await tool('mount', ['-t', 'proc', 'proc', join(rootfs, 'proc')])).code).toBe(0);
      try {
        const { uid, gid } = runtimeSpec.process.user;
        // The entrypoint, plus `serve` the way SageMaker starts containers.
        const server = start(
          which('chroot')!,
          [`--userspec=${uid}:${gid}`, rootfs, ...runtimeSpec.process.args, 'serve'],
          { env },
        );
        const ready = await waitForLine(server, 'edge ready');
        expect(ready).toMatchObject({ port, runtime: 'native' });
        const base = `http://127.0.0.1:${port}`;
        const payload = await readFile(IRIS_PAYLOAD, 'utf8');
        const model = await OnnxModel.load(join(REPO_ROOT, 'examples/iris/model.onnx'));
        const expected = {
          predictions: await model.predictInstances(
            (JSON.parse(payload) as { instances: unknown[] }).instances,
          ),
        };
        await model.close();

        expect((await fetch(`${base}/ping`)).status).toBe(200); // SageMaker
        expect((await postJson(`${base}/invocations`, payload)).json).toEqual(expected);
        expect((await fetch(`${base}/vertex/health`)).status).toBe(200); // Vertex AI
        expect((await postJson(`${base}/vertex/predict`, payload)).json).toEqual(expected);
        expect((await postJson(`${base}/v1/models/iris-edge:predict`, payload)).json).toEqual(expected); // KServe v1
        expect((await postJson(`${base}/score`, payload)).json).toEqual(expected); // Azure ML
        const v2 = await postJson(`${base}/v2/models/iris-edge/infer`, {
          inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
        }); // KServe v2 / Open Inference Protocol
        expect(v2.status).toBe(200);
        expect(
          (v2.json as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'label')
            ?.data,
        ).toEqual([0]);
        expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
        expect(server.stderr()).not.toMatch(/CA bundle|cpuinfo/); // no telemetry attempt, /proc seen

        const queued = await postJson(`http://127.0.0.1:${queuePort}/async/invocations`, payload);
        expect(queued.status).toBe(202);
        const id = (queued.json as { id: string }).id;
        let result: Response;
        for (;;) {
          result = await fetch(`http://127.0.0.1:${queuePort}/async/results/${id}`);
          if (result.status !== 202) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(await result.json()).toEqual(expected);
        const spool = await stat(join(rootfs, 'var/lib/modelport/spool/results'));
        expect(spool.uid).toBe(65532);

        await stop(server);
        expect((await server.exited).code).toBe(0);
      } finally {
        await tool('umount', [join(rootfs, 'proc')]);
      }
    },
  );
});
