import type { AzureClientFactory as AzureClientFactoryPort } from './client-factory.js';
import type { AzureProviderOptions as AzureProviderOptionsShape } from './options.js';
import * as tokens from './tokens.js';

// One token and one interface with the same name: `@inject(AzureClientFactory) factory: AzureClientFactory`.
export const AzureClientFactory = tokens.AzureClientFactory;
export type AzureClientFactory = AzureClientFactoryPort;
export const AzureProviderOptions = tokens.AzureProviderOptions;
export type AzureProviderOptions = AzureProviderOptionsShape;

export { capabilities } from './capabilities.js';
export { AzureProvider } from './azure-provider.js';
export { providerModule } from './module.js';
export type { AzureClients, AzureClientConfig } from './client-factory.js';
export { DefaultAzureClientFactory, StaticTokenCredential, clientConfigFromEnv } from './client-factory.js';
export { DEFAULT_OPTIONS, optionsFromEnv } from './options.js';
export { mapAzureError } from './errors.js';
export { INSTANCE_CATALOG, ACCELERATORS, pickInstanceType } from './instance-catalog.js';
export { RT as AZURE_RESOURCE_TYPES } from './resource-types.js';
export { scoringErrorKind, ONLINE_LIMIT_BYTES } from './invoke.js';
