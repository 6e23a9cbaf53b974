// Building the same EdgePackage twice, once in this process and once with the built `modelport package`
// CLI in another, gives the same bytes in every file of every format (tar.gz, OCI layout, Greengrass ZIP
// and recipe, IoT Edge manifest), signatures included (ed25519 is deterministic).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EdgeArtifact } from '@modelport/core';

import { packageEdge } from './packager.js';
import { generateSigningKeys, type GeneratedKeys } from './signing/keys.js';
import {
  assertAppBuilt,
  IRIS_EDGE_MANIFEST,
  loadEdgeManifest,
  REPO_ROOT,
  TEST_CACHE_DIR,
} from './testing/fixtures.js';
import { missingTools } from './testing/tools.js';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'packages/cli/dist/bin/modelport.js');
const imageTools = missingTools('dpkg-deb', 'apt-get');
const FORMATS = imageTools.length === 0 ? 'tar.gz,oci,greengrass,iot-edge' : 'tar.gz,greengrass,iot-edge';

let work: string;
let keys: GeneratedKeys;
let first: EdgeArtifact[];

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  assertAppBuilt();
  if (!existsSync(CLI)) throw new Error('packages/cli is not built: run `npx tsc -b`');
  work = await mkdtemp(join(tmpdir(), 'modelport-determinism-'));
  keys = await generateSigningKeys(join(work, 'keys'));
  first = await packageEdge(await loadEdgeManifest(), {
    outDir: join(work, 'first'),
    formats: FORMATS.split(',') as never,
    platforms: ['linux/amd64'],
    signingKey: keys.privateKeyPath,
    cacheDir: TEST_CACHE_DIR,
  });
}, 240_000);

afterAll(() => rm(work, { recursive: true, force: true }));

describe('rebuilding an EdgePackage', () => {
  it('gives identical bytes for every file of every format, from another process through the CLI', async () => {
    const second = await cli(
      '--output',
      'json',
      'package',
      IRIS_EDGE_MANIFEST,
      '--out',
      join(work, 'second'),
      '--format',
      FORMATS,
      '--platform',
      'linux/amd64',
      '--sign',
      keys.privateKeyPath,
      '--cache-dir',
      TEST_CACHE_DIR,
    );
    expect(second.stderr).not.toMatch(/error/i); // the Greengrass bucket warning goes to stderr
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout) as { ok: boolean; artifacts: EdgeArtifact[] };
    const strip = (artifacts: EdgeArtifact[], root: string) =>
      artifacts.map((a) => ({ ...a, path: relative(root, a.path) }));
    expect(strip(report.artifacts, join(work, 'second'))).toEqual(strip(first, join(work, 'first')));

    const files = await filesUnder(join(work, 'first'));
    expect(await filesUnder(join(work, 'second'))).toEqual(files);
    expect(files.some((f) => f.endsWith('.tar.gz'))).toBe(true);
    expect(files.some((f) => f.endsWith('.zip'))).toBe(true);
    const different: string[] = [];
    for (const file of files) {
      const [a, b] = await Promise.all([
        readFile(join(work, 'first', file)),
        readFile(join(work, 'second', file)),
      ]);
      if (!a.equals(b)) different.push(file);
    }
    expect(different).toEqual([]);
  });

  it('verifies through the CLI: exit 0 with the signer key, 2 with another key', async () => {
    const archive = first.find((a) => a.format === 'tar.gz')?.path ?? '';
    const good = await cli('edge', 'verify', archive, '--pubkey', keys.publicKeyPath);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('signed by sha256:');
    const other = await generateSigningKeys(join(work, 'other'));
    const bad = await cli('--output', 'json', 'edge', 'verify', archive, '--pubkey', other.publicKeyPath);
    expect(bad.code).toBe(2);
    expect((JSON.parse(bad.stdout) as { ok: boolean }).ok).toBe(false);
    const again = await cli('edge', 'keygen', '--out', join(work, 'keys'));
    expect(again.code).toBe(4); // conflict: never overwrites a key
  });
});
