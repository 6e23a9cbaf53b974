import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { EventListener, ModuleHost, ProviderDeclaration } from '@modelport/core';
import { discoverPlugins, LazyProviderRegistry, Modelport, readDeclaration } from '@modelport/core';
import type { ContainerModuleHost } from '@modelport/core/di';

/** Providers shipped with modelport; each is used when installed (optional ones may be absent). */
export const BUILTIN_PROVIDER_PACKAGES = [
  '@modelport/provider-local',
  '@modelport/provider-aws',
  '@modelport/provider-azure',
  '@modelport/provider-gcp',
  '@modelport/provider-kserve',
] as const;

const require = createRequire(import.meta.url);

export function builtinDeclarations(): ProviderDeclaration[] {
  const found: ProviderDeclaration[] = [];
  for (const name of BUILTIN_PROVIDER_PACKAGES) {
    let packageJson: string;
    try {
      packageJson = require.resolve(`${name}/package.json`);
    } catch {
      continue; // not installed
    }
    const declaration = readDeclaration(dirname(packageJson), 'builtin');
    if (declaration !== undefined) found.push(declaration);
  }
  return found;
}

/**
 * The registry's module host, created on the first provider load so that `validate` and `providers`
 * never pay for inversify.
 */
class LazyModuleHost implements ModuleHost {
  private host: ContainerModuleHost | undefined;

  async load(moduleExports: Record<string, unknown>, declaration: ProviderDeclaration): Promise<void> {
    this.host ??= new (await import('@modelport/core/di')).ContainerModuleHost();
    await this.host.load(moduleExports, declaration);
  }

  getAll<T>(token: symbol): T[] {
    return this.host?.getAll<T>(token) ?? [];
  }
}

export interface CreateOptions {
  /** Where plugins are looked for (node_modules from here upwards); default: the working directory. */
  cwd?: string;
  /** Extra plugin package folders (also read from MODELPORT_PLUGINS, separated by the path delimiter). */
  plugins?: readonly string[];
  onEvent?: EventListener;
  signal?: AbortSignal;
}

export function pluginDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env['MODELPORT_PLUGINS'];
  if (raw === undefined || raw.trim() === '') return [];
  const delimiter = process.platform === 'win32' ? ';' : ':';
  return raw.split(delimiter).filter((p) => p.trim() !== '');
}

export function createRegistry(options: CreateOptions = {}): LazyProviderRegistry {
  const declarations = [
    ...builtinDeclarations(),
    ...discoverPlugins(options.cwd ?? process.cwd(), [...(options.plugins ?? []), ...pluginDirsFromEnv()]),
  ];
  return new LazyProviderRegistry(declarations, new LazyModuleHost());
}

/** The programmatic entry point: a Modelport wired with every installed provider. */
export function createModelport(options: CreateOptions = {}): Modelport {
  return new Modelport({
    registry: createRegistry(options),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
