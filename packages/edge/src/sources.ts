import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ModelportError } from '@modelport/core';

import type { PlatformInfo } from './platform.js';

// Where the pieces of a bundle come from on the build machine: npm packages resolved the way Node
// would, from this package (the Node binaries, onnxruntime-web) or from the runtime (onnxruntime-node).

const require = createRequire(import.meta.url);

/** This package's folder (holds dist/app, the code that runs on devices). */
export const EDGE_PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface PackageRef {
  name: string;
  version: string;
  dir: string;
}

function readPackage(dir: string): PackageRef {
  const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return { name: json.name, version: json.version, dir };
}

function packageName(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/** Resolves an installed package's folder from another package's folder, or undefined. */
function resolvePackageDir(name: string, fromDir: string): string | undefined {
  try {
    return dirname(createRequire(join(fromDir, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    // Packages whose "exports" hide package.json: resolve the main entry and walk up.
    try {
      // Nested package.json files ({"type": "module"} in dist/esm) do not count: find the one named so.
      let dir = dirname(createRequire(join(fromDir, 'package.json')).resolve(name));
      while (dirname(dir) !== dir && packageName(dir) !== name) dir = dirname(dir);
      return packageName(dir) === name ? dir : undefined;
    } catch {
      return undefined;
    }
  }
}

export function runtimePackage(): PackageRef {
  return readPackage(dirname(require.resolve('@modelport/runtime/package.json')));
}

export function edgePackage(): PackageRef {
  return readPackage(EDGE_PACKAGE_DIR);
}

/** The Node.js binary for a platform, from the node-linux-<arch> npm package. */
export function nodeBinary(platform: PlatformInfo): { path: string; license: string; version: string } {
  const dir = resolvePackageDir(platform.nodePackage, EDGE_PACKAGE_DIR);
  const path = dir === undefined ? undefined : join(dir, 'bin', 'node');
  if (dir === undefined || path === undefined || !existsSync(path)) {
    throw new ModelportError(
      'notFound',
      `no Node.js binary for ${platform.platform}: the npm package ${platform.nodePackage} is not installed`,
      {
        hint: `install it next to @modelport/edge (npm install ${platform.nodePackage}@20), or leave ${platform.platform} out of spec.edge.platforms`,
        details: { platform: platform.platform, package: platform.nodePackage },
      },
    );
  }
  return { path, license: join(dir, 'LICENSE'), version: readPackage(dir).version };
}

export function onnxruntimeNode(): PackageRef {
  const dir = resolvePackageDir('onnxruntime-node', runtimePackage().dir);
  if (dir === undefined) {
    throw new ModelportError('notFound', 'onnxruntime-node is not installed next to @modelport/runtime', {
      hint: 'reinstall modelport, or package with spec.edge.runtime: wasm',
    });
  }
  return readPackage(dir);
}

export function onnxruntimeWeb(): PackageRef {
  const dir = resolvePackageDir('onnxruntime-web', EDGE_PACKAGE_DIR);
  if (dir === undefined) {
    throw new ModelportError('notFound', 'onnxruntime-web is not installed next to @modelport/edge', {
      hint: 'reinstall modelport, or package with spec.edge.runtime: native',
    });
  }
  return readPackage(dir);
}

export function onnxruntimeCommon(from: PackageRef): PackageRef {
  const dir = resolvePackageDir('onnxruntime-common', from.dir);
  if (dir === undefined)
    throw new ModelportError('notFound', `onnxruntime-common is not installed next to ${from.name}`);
  return readPackage(dir);
}
