import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ModelportError } from '../errors.js';
import type { ProviderDeclaration } from './declaration.js';

const PLUGIN_PREFIX = 'modelport-provider-';

interface PackageJson {
  name?: string;
  version?: string;
  modelport?: { provider?: { id?: unknown; module?: unknown; capabilities?: unknown } };
}

/** Reads a package's provider declaration; undefined when the package declares none. */
export function readDeclaration(
  packageDir: string,
  origin: ProviderDeclaration['origin'],
): ProviderDeclaration | undefined {
  const manifestPath = join(packageDir, 'package.json');
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
  const declared = pkg.modelport?.provider;
  if (declared === undefined) return undefined;
  const { id, module, capabilities } = declared;
  if (
    typeof id !== 'string' ||
    !/^[a-z][a-z0-9-]{0,31}$/.test(id) ||
    typeof module !== 'string' ||
    typeof capabilities !== 'string'
  ) {
    throw new ModelportError(
      'invalidInput',
      `${manifestPath}: "modelport.provider" must have string fields id, module and capabilities`,
      {
        hint: 'id is lower-case letters, digits and "-"; module and capabilities are paths relative to the package',
      },
    );
  }
  return {
    id,
    packageName: pkg.name ?? packageDir,
    packageVersion: pkg.version ?? '0.0.0',
    modulePath: resolve(packageDir, module),
    capabilitiesPath: resolve(packageDir, capabilities),
    origin,
  };
}

/**
 * Finds provider plugins: packages named `modelport-provider-*` or `@scope/modelport-provider-*` in the
 * node_modules folders from `fromDir` up to the root, plus explicit package folders (MODELPORT_PLUGINS).
 * Only package.json files are read; no plugin code runs until a manifest names its provider.
 */
export function discoverPlugins(
  fromDir: string,
  explicitDirs: readonly string[] = [],
): ProviderDeclaration[] {
  const found: ProviderDeclaration[] = [];
  const seen = new Set<string>();
  const add = (dir: string): void => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    const declaration = readDeclaration(real, 'plugin');
    if (declaration !== undefined) found.push(declaration);
  };
  for (const dir of explicitDirs) {
    const declaration = readDeclaration(resolve(dir), 'plugin');
    if (declaration === undefined) {
      throw new ModelportError('invalidInput', `${dir} is not a modelport provider package`, {
        hint: 'its package.json needs a "modelport": { "provider": { ... } } declaration',
      });
    }
    add(dir);
  }
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const nodeModules = join(dir, 'node_modules');
    for (const entry of safeReaddir(nodeModules)) {
      if (entry.startsWith(PLUGIN_PREFIX)) add(join(nodeModules, entry));
      else if (entry.startsWith('@')) {
        for (const scoped of safeReaddir(join(nodeModules, entry))) {
          if (scoped.startsWith(PLUGIN_PREFIX)) add(join(nodeModules, entry, scoped));
        }
      }
    }
    if (dirname(dir) === dir) break;
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
