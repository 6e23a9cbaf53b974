import type { AwsClientFactory as AwsClientFactoryPort } from './client-factory.js';
import type { AwsProviderOptions as AwsProviderOptionsShape } from './options.js';
import * as tokens from './tokens.js';

// One token and one interface with the same name: `@inject(AwsClientFactory) factory: AwsClientFactory`.
export const AwsClientFactory = tokens.AwsClientFactory;
export type AwsClientFactory = AwsClientFactoryPort;
export const AwsProviderOptions = tokens.AwsProviderOptions;
export type AwsProviderOptions = AwsProviderOptionsShape;

export { capabilities } from './capabilities.js';
export { AwsProvider } from './aws-provider.js';
export { providerModule } from './module.js';
export type { AwsClients, AwsClientConfig } from './client-factory.js';
export { DefaultAwsClientFactory, clientConfigFromEnv } from './client-factory.js';
export { DEFAULT_OPTIONS, optionsFromEnv } from './options.js';
export { mapAwsError } from './errors.js';
export { INSTANCE_CATALOG, pickInstanceType, ACCELERATORS } from './instance-catalog.js';
export { RT as AWS_RESOURCE_TYPES } from './resource-types.js';
export { asyncId, parseAsyncId } from './invoke.js';
