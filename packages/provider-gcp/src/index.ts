import type { GcpClientFactory as GcpClientFactoryPort } from './client-factory.js';
import type { GcpProviderOptions as GcpProviderOptionsShape } from './options.js';
import * as tokens from './tokens.js';

// One token and one interface with the same name: `@inject(GcpClientFactory) factory: GcpClientFactory`.
export const GcpClientFactory = tokens.GcpClientFactory;
export type GcpClientFactory = GcpClientFactoryPort;
export const GcpProviderOptions = tokens.GcpProviderOptions;
export type GcpProviderOptions = GcpProviderOptionsShape;

export { capabilities } from './capabilities.js';
export { GcpProvider } from './gcp-provider.js';
export { providerModule } from './module.js';
export type { GcpClients, GcpClientConfig } from './client-factory.js';
export { DefaultGcpClientFactory, clientConfigFromEnv, sdkLoadTimings } from './client-factory.js';
export { DEFAULT_OPTIONS, optionsFromEnv } from './options.js';
export { mapGcpError } from './errors.js';
export { MACHINE_CATALOG, pickMachineType, ACCELERATORS, VERTEX_ACCELERATORS } from './machine-types.js';
export { encodeLabel, decodeLabel, encodeLabels, decodeLabels } from './labels.js';
export { RT as GCP_RESOURCE_TYPES } from './resource-types.js';
export { parseAsyncId } from './async.js';
