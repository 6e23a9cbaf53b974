import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import { ModelportError } from '@modelport/core';

import type { FileTree } from '../archive/file-tree.js';
import type { PlatformInfo } from '../platform.js';
import { onnxruntimeCommon, onnxruntimeNode, onnxruntimeWeb, type PackageRef } from '../sources.js';

function listFiles(dir: string, keep: (rel: string) => boolean, root = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, keep, root));
    else if (entry.isFile() && keep(relative(root, full).split(sep).join('/'))) out.push(full);
  }
  return out;
}

const isJs = (rel: string): boolean => rel.endsWith('.js') || rel.endsWith('.mjs') || rel.endsWith('.cjs');

async function addPackageFiles(
  tree: FileTree,
  pkg: PackageRef,
  files: readonly string[],
  mode = 0o644,
): Promise<void> {
  for (const file of files) {
    const rel = relative(pkg.dir, file).split(sep).join('/');
    await tree.addFile(`node_modules/${pkg.name}/${rel}`, file, mode);
  }
}

/**
 * onnxruntime-node pruned to one platform: its JS (no maps, no typings) and only
 * bin/napi-v*\/linux/<arch>/ of the 288 MB of binaries it ships for every OS; with onnxruntime-common's
 * CommonJS build, which it requires.
 */
export async function addNativeOnnxruntime(tree: FileTree, platform: PlatformInfo): Promise<string> {
  const ort = onnxruntimeNode();
  const napi = readdirSync(join(ort.dir, 'bin')).filter((d) => d.startsWith('napi-v'));
  const binDirs = napi
    .map((d) => join(ort.dir, 'bin', d, 'linux', platform.nodeArch))
    .filter((d) => existsSync(d));
  if (binDirs.length === 0) {
    throw new ModelportError(
      'notFound',
      `onnxruntime-node ${ort.version} has no native binaries for ${platform.platform}`,
      {
        hint: 'package with spec.edge.runtime: wasm (onnxruntime-web), which needs no native addon',
      },
    );
  }
  await tree.addFile(`node_modules/${ort.name}/package.json`, join(ort.dir, 'package.json'));
  await addPackageFiles(tree, ort, listFiles(join(ort.dir, 'dist'), isJs));
  for (const dir of binDirs)
    await addPackageFiles(
      tree,
      ort,
      listFiles(dir, () => true).filter((f) => statSync(f).size > 0),
    );
  const common = onnxruntimeCommon(ort);
  await tree.addFile(`node_modules/${common.name}/package.json`, join(common.dir, 'package.json'));
  await addPackageFiles(
    tree,
    common,
    listFiles(join(common.dir, 'dist', 'cjs'), (rel) => isJs(rel) || rel === 'package.json'),
  );
  return ort.version;
}

/**
 * onnxruntime-web for Node: the ESM build Node resolves ("node" export condition), the single-threaded
 * SIMD WASM module and its loader; with onnxruntime-common's ESM build. Runs on any CPU Node runs on.
 */
export async function addWasmOnnxruntime(tree: FileTree): Promise<string> {
  const web = onnxruntimeWeb();
  await tree.addFile(`node_modules/${web.name}/package.json`, join(web.dir, 'package.json'));
  for (const file of ['ort.node.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) {
    const path = join(web.dir, 'dist', file);
    if (!existsSync(path))
      throw new ModelportError('notFound', `onnxruntime-web ${web.version} has no dist/${file}`);
    await tree.addFile(`node_modules/${web.name}/dist/${file}`, path);
  }
  const common = onnxruntimeCommon(web);
  await tree.addFile(`node_modules/${common.name}/package.json`, join(common.dir, 'package.json'));
  await addPackageFiles(
    tree,
    common,
    listFiles(join(common.dir, 'dist', 'esm'), (rel) => isJs(rel) || rel === 'package.json'),
  );
  return web.version;
}
