import type * as Inversify from 'inversify';
import { ModelportError } from './errors.js';
import type { ProviderDeclaration } from './registry/declaration.js';
import type { ModuleHost } from './registry/provider-registry.js';

// Dependency injection for providers and the CLI: inversify, from the single-module bundle the build
// makes (scripts/bundle-vendor.mjs) when it is there: the package itself is ~560 ES modules and takes
// ~400 ms to load. Same classes and decorators either way; metadata lives in the global Reflect store.
const bundled = new URL('./vendor/inversify.js', import.meta.url).href;
const inversify = (await import(bundled).catch(() => import('inversify'))) as typeof Inversify;

export const { Container, ContainerModule, injectable, inject, multiInject, optional } = inversify;
export type Container = Inversify.Container;
export type ContainerModule = Inversify.ContainerModule;
export type ContainerModuleLoadOptions = Inversify.ContainerModuleLoadOptions;

/**
 * The registry's ModuleHost over one inversify container: loads a provider package's module (its default
 * export or `providerModule`, an inversify ContainerModule) and gathers multi-bound providers. The CLI,
 * test harnesses and benchmarks share it; the latter bind their options on `container` first.
 */
export class ContainerModuleHost implements ModuleHost {
  readonly container: Container = new Container();

  async load(moduleExports: Record<string, unknown>, declaration?: ProviderDeclaration): Promise<void> {
    const candidate = moduleExports['default'] ?? moduleExports['providerModule'];
    if (typeof (candidate as { load?: unknown } | undefined)?.load !== 'function') {
      const where =
        declaration === undefined
          ? 'the provider module'
          : `${declaration.packageName}: ${declaration.modulePath}`;
      throw new ModelportError(
        'invalidInput',
        `${where} must export an inversify ContainerModule (default export or \`providerModule\`)`,
      );
    }
    await this.container.loadAsync(candidate as ContainerModule);
  }

  getAll<T>(token: symbol): T[] {
    return this.container.isBound(token) ? this.container.getAll<T>(token) : [];
  }
}
