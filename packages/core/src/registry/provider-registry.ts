import { pathToFileURL } from 'node:url';
import type { Capabilities } from '../capabilities.js';
import { ModelportError } from '../errors.js';
import type { BatchProvider, DeploymentProvider, EndpointProvider } from '../ports/provider.js';
import { BatchProvider as BatchProviderToken, EndpointProvider as EndpointProviderToken } from '../tokens.js';
import type { CapabilitiesModule, ProviderDeclaration } from './declaration.js';

/** The container side of the registry: the CLI implements it over its inversify container. */
export interface ModuleHost {
  /** Loads a provider package's exported module (an inversify ContainerModule) into the container. */
  load(moduleExports: Record<string, unknown>, declaration: ProviderDeclaration): Promise<void>;
  /** Every binding of a multi-bound token. */
  getAll<T>(token: symbol): T[];
}

export interface ProviderRegistry {
  declarations(): readonly ProviderDeclaration[];
  ids(): string[];
  /** Reads the capability declarations (cheap modules, no SDK) of the given providers, or all. */
  loadCapabilities(ids?: readonly string[]): Promise<void>;
  /** After loadCapabilities: the declaration of a provider, undefined when it is not installed or broken. */
  capabilitiesOf(id: string): Capabilities | undefined;
  /** Why an installed provider's declaration could not be read, if it could not. */
  problemOf(id: string): string | undefined;
  endpointProvider(id: string): Promise<EndpointProvider>;
  batchProvider(id: string): Promise<BatchProvider>;
  /** Provider ids whose module (and SDK) has been loaded in this process. */
  loaded(): string[];
}

/**
 * Providers keyed by id, loaded on first use: a manifest that names `aws` loads the AWS module (and its
 * SDK); `validate` and `providers` only read the capability modules.
 */
export class LazyProviderRegistry implements ProviderRegistry {
  private readonly byId = new Map<string, ProviderDeclaration>();
  private readonly capabilities = new Map<string, Capabilities>();
  // One broken plugin must not take the others down: its problem is reported where it is named.
  private readonly problems = new Map<string, string>();
  private readonly modules = new Map<string, Promise<void>>();

  constructor(
    declarations: readonly ProviderDeclaration[],
    private readonly host: ModuleHost,
  ) {
    for (const declaration of declarations) {
      const existing = this.byId.get(declaration.id);
      // A plugin cannot shadow a built-in provider; two plugins with one id is a setup error.
      if (existing !== undefined) {
        if (existing.origin === 'builtin') continue;
        throw new ModelportError(
          'conflict',
          `provider id "${declaration.id}" is declared by both ${existing.packageName} and ${declaration.packageName}`,
          { hint: 'uninstall one of them' },
        );
      }
      this.byId.set(declaration.id, declaration);
    }
  }

  declarations(): readonly ProviderDeclaration[] {
    return [...this.byId.values()];
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  async loadCapabilities(ids: readonly string[] = this.ids()): Promise<void> {
    await Promise.all(
      ids
        .filter((id) => this.byId.has(id) && !this.capabilities.has(id) && !this.problems.has(id))
        .map(async (id) => {
          const declaration = this.require(id);
          try {
            const url = pathToFileURL(declaration.capabilitiesPath).href;
            const mod = (await import(url)) as Partial<CapabilitiesModule>;
            if (mod.capabilities?.provider !== id) {
              throw new Error(
                `${declaration.capabilitiesPath} must export \`capabilities\` with provider "${id}"`,
              );
            }
            this.capabilities.set(id, mod.capabilities);
          } catch (error) {
            this.problems.set(
              id,
              `${declaration.packageName}@${declaration.packageVersion}: ${(error as Error).message}`,
            );
          }
        }),
    );
  }

  capabilitiesOf(id: string): Capabilities | undefined {
    return this.capabilities.get(id);
  }

  problemOf(id: string): string | undefined {
    return this.problems.get(id);
  }

  async endpointProvider(id: string): Promise<EndpointProvider> {
    return this.resolve<EndpointProvider>(id, EndpointProviderToken, 'endpoints');
  }

  async batchProvider(id: string): Promise<BatchProvider> {
    return this.resolve<BatchProvider>(id, BatchProviderToken, 'batch jobs');
  }

  loaded(): string[] {
    return [...this.modules.keys()];
  }

  private async resolve<T extends DeploymentProvider>(id: string, token: symbol, what: string): Promise<T> {
    await this.loadModule(id);
    const provider = this.host.getAll<T>(token).find((p) => p.id === id);
    if (provider === undefined) {
      throw new ModelportError('capability', `provider "${id}" does not offer ${what}`);
    }
    return provider;
  }

  private loadModule(id: string): Promise<void> {
    let loading = this.modules.get(id);
    if (loading === undefined) {
      const declaration = this.require(id);
      loading = import(pathToFileURL(declaration.modulePath).href).then((mod: Record<string, unknown>) =>
        this.host.load(mod, declaration),
      );
      this.modules.set(id, loading);
    }
    return loading;
  }

  private require(id: string): ProviderDeclaration {
    const declaration = this.byId.get(id);
    if (declaration === undefined) {
      throw new ModelportError('invalidInput', `provider "${id}" is not installed`, {
        hint: `installed providers: ${this.ids().join(', ') || '(none)'}`,
      });
    }
    return declaration;
  }
}
