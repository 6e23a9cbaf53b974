// The other platform and the other runtime. linux/arm64 cannot run on this amd64 machine: its bundle and
// image are built and checked file by file (ELF machine of every native file, OCI tools). The WASM runtime
// (onnxruntime-web, no native addon) runs here and must answer like the native one.
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelportError, type EdgeArtifact } from '@modelport/core';

import type { BundleManifest } from './app/bundle-format.js';
import { extractBundle } from './archive/safe-extract.js';
import { readImageLayout } from './oci/image-layout.js';
import { packageEdge } from './packager.js';
import { PLATFORMS, type PlatformInfo } from './platform.js';
import { nodeBinary } from './sources.js';
import {
  assertAppBuilt,
  IRIS_PAYLOAD,
  loadEdgeManifest,
  postJson,
  start,
  stop,
  stopAll,
  TEST_CACHE_DIR,
  waitForLine,
} from './testing/fixtures.js';
import { missingTools, tool } from './testing/tools.js';
import { verifyBundle } from './verify.js';

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const imageTools = missingTools('oci-image-tool', 'umoci', 'dpkg-deb', 'apt-get');

let work: string;
let arm64: EdgeArtifact[];

/** e_machine of an ELF file, or undefined when it is not one. */
async function elfMachine(path: string): Promise<number | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(20);
    await handle.read(head, 0, 20, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return head.readUInt16LE(18);
  } finally {
    await handle.close();
  }
}

beforeAll(async () => {
  assertAppBuilt();
  work = await mkdtemp(join(tmpdir(), 'modelport-arm64-'));
  arm64 = await packageEdge(await loadEdgeManifest(), {
    outDir: join(work, 'arm64'),
    formats: imageTools.length === 0 ? ['tar.gz', 'oci'] : ['tar.gz'],
    platforms: ['linux/arm64'],
    cacheDir: TEST_CACHE_DIR,
  });
}, 240_000);

afterAll(async () => {
  await stopAll();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the linux/arm64 bundle', () => {
  it('holds an aarch64 Node and onnxruntime built for arm64 only, and verifies', async () => {
    const archive = arm64.find((a) => a.format === 'tar.gz')?.path ?? '';
    expect(archive).toMatch(/iris-edge-1\.0\.0-linux-arm64\.tar\.gz$/);
    const dir = join(work, 'arm64-extracted');
    await extractBundle(archive, dir);
    expect((await verifyBundle(dir)).ok).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
    expect(manifest.platform).toBe('linux/arm64');
    const native = manifest.files.filter(
      (f) => f.path === 'bin/node' || f.path.endsWith('.node') || f.path.includes('.so'),
    );
    expect(native.map((f) => f.path).sort()).toEqual([
      'bin/node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    ]);
    for (const file of native) expect(await elfMachine(join(dir, file.path)), file.path).toBe(EM_AARCH64);
  });

  it.skipIf(imageTools.length > 0)(
    'has an OCI image of arm64 Debian libraries that oci-image-tool and umoci accept',
    async () => {
      const layout = arm64.find((a) => a.format === 'oci')?.path ?? '';
      const validated = await tool('oci-image-tool', [
        'validate',
        '--type',
        'image',
        '--ref',
        'name=1.0.0',
        layout,
      ]);
      expect(validated.code, validated.stderr).toBe(0);
      const { config } = await readImageLayout(layout, '1.0.0');
      expect(config.architecture).toBe('arm64');
      const bundle = join(work, 'arm64-unpacked');
      expect((await tool('umoci', ['unpack', '--image', `${layout}:1.0.0`, bundle])).code).toBe(0);
      const rootfs = join(bundle, 'rootfs');
      expect(await elfMachine(join(rootfs, 'lib/aarch64-linux-gnu/libc.so.6'))).toBe(EM_AARCH64);
      expect(await elfMachine(join(rootfs, 'opt/modelport/bin/node'))).toBe(EM_AARCH64);
      // The loader Node asks for (readelf: /lib/ld-linux-aarch64.so.1) is there.
      expect(await elfMachine(join(rootfs, 'lib/ld-linux-aarch64.so.1'))).toBe(EM_AARCH64);
    },
  );
});

describe('a platform whose Node binary is not installed', () => {
  it('is a clear error naming the npm package', () => {
    const missing = {
      ...PLATFORMS['linux/arm64'],
      nodePackage: 'node-linux-riscv64',
    } as unknown as PlatformInfo;
    let error: unknown;
    try {
      nodeBinary(missing);
    } catch (thrown) {
      error = thrown;
    }
    expect(ModelportError.is(error, 'notFound')).toBe(true);
    expect((error as ModelportError).message).toBe(
      'no Node.js binary for linux/arm64: the npm package node-linux-riscv64 is not installed',
    );
    expect((error as ModelportError).hint).toMatch(/npm install node-linux-riscv64@20/);
  });
});

describe('the WASM runtime (onnxruntime-web, no native addon)', () => {
  it('ships no native code but Node, and answers like the native runtime', async () => {
    const [artifact] = await packageEdge(await loadEdgeManifest(), {
      outDir: join(work, 'wasm'),
      formats: ['tar.gz'],
      platforms: ['linux/amd64'],
      runtime: 'wasm',
      cacheDir: TEST_CACHE_DIR,
    });
    expect(artifact?.path).toMatch(/iris-edge-1\.0\.0-linux-amd64-wasm\.tar\.gz$/);
    const dir = join(work, 'wasm-extracted');
    await extractBundle(artifact?.path ?? '', dir);
    const manifest = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
    expect(manifest.runtime).toBe('wasm');
    const elves: string[] = [];
    for (const file of manifest.files)
      if ((await elfMachine(join(dir, file.path))) !== undefined) elves.push(file.path);
    expect(elves).toEqual(['bin/node']);
    expect(await elfMachine(join(dir, 'bin/node'))).toBe(EM_X86_64);
    expect(manifest.files.some((f) => f.path.endsWith('.wasm'))).toBe(true);

    const bundle = start(
      join(dir, 'bin/node'),
      [join(dir, 'run.mjs'), '--port', '0', '--queue-port', 'off'],
      { env: { PATH: '/usr/bin:/bin' } },
    );
    const ready = await waitForLine(bundle, 'edge ready');
    expect(ready).toMatchObject({ runtime: 'wasm' });
    const payload = await readFile(IRIS_PAYLOAD, 'utf8');
    const answer = (await postJson(`${String(ready['url'])}/invocations`, payload)).json as {
      predictions: { label: number; probabilities: number[] }[];
    };
    const { OnnxModel } = await import('@modelport/runtime');
    const native = await OnnxModel.load(join(dir, 'model/model.onnx'));
    const expected = (await native.predictInstances(
      (JSON.parse(payload) as { instances: unknown[] }).instances,
    )) as { label: number; probabilities: number[] }[];
    await native.close();
    expect(answer.predictions.map((p) => p.label)).toEqual(expected.map((p) => p.label));
    answer.predictions.forEach((p, i) =>
      p.probabilities.forEach((value, j) => expect(value).toBeCloseTo(expected[i]!.probabilities[j]!, 6)),
    );
    await stop(bundle);
    expect((await bundle.exited).code).toBe(0);
  });
});
