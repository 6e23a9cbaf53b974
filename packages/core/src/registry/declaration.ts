import type { Capabilities } from '../capabilities.js';

/**
 * How a provider package declares itself, in its package.json:
 *
 *   "modelport": { "provider": { "id": "acme", "module": "./dist/module.js", "capabilities": "./dist/capabilities.js" } }
 *
 * `capabilities` must import no cloud SDK: it is read by `validate` and `providers`. `module` exports
 * (default or `providerModule`) an inversify ContainerModule binding EndpointProvider and/or BatchProvider.
 */
export interface ProviderDeclaration {
  id: string;
  packageName: string;
  packageVersion: string;
  /** Absolute path of the module that binds the provider (loads its SDK). */
  modulePath: string;
  /** Absolute path of the module that exports `capabilities` (cheap). */
  capabilitiesPath: string;
  /** Shipped with modelport, or found as a plugin. */
  origin: 'builtin' | 'plugin';
}

export interface CapabilitiesModule {
  capabilities: Capabilities;
}
