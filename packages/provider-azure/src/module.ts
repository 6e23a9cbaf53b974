import { BatchProvider, EndpointProvider } from '@modelport/core';
import { ContainerModule } from '@modelport/core/di';
import { AzureProvider } from './azure-provider.js';
import { DefaultAzureClientFactory, clientConfigFromEnv } from './client-factory.js';
import { optionsFromEnv } from './options.js';
import { AzureClientFactory, AzureProviderOptions } from './tokens.js';

/**
 * Binds the Azure provider for endpoints and batch jobs (one instance serves both). The client factory and
 * the options come from the environment unless the host bound its own first (tests bind an emulator's).
 */
export const providerModule = new ContainerModule((options) => {
  if (!options.isBound(AzureClientFactory)) {
    options
      .bind(AzureClientFactory)
      .toDynamicValue(() => new DefaultAzureClientFactory(clientConfigFromEnv()))
      .inSingletonScope();
  }
  if (!options.isBound(AzureProviderOptions)) {
    options
      .bind(AzureProviderOptions)
      .toDynamicValue(() => optionsFromEnv())
      .inSingletonScope();
  }
  options.bind(AzureProvider).toSelf().inSingletonScope();
  options.bind(EndpointProvider).toService(AzureProvider);
  options.bind(BatchProvider).toService(AzureProvider);
});

export default providerModule;
