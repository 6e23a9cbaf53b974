import { BatchProvider, EndpointProvider } from '@modelport/core';
import { ContainerModule } from '@modelport/core/di';
import { AwsProvider } from './aws-provider.js';
import { DefaultAwsClientFactory, clientConfigFromEnv } from './client-factory.js';
import { optionsFromEnv } from './options.js';
import { AwsClientFactory, AwsProviderOptions } from './tokens.js';

/**
 * Binds the AWS provider for endpoints and batch jobs (one instance serves both). The client factory and
 * the options come from the environment unless the host bound its own first (tests bind an emulator's).
 */
export const providerModule = new ContainerModule((options) => {
  if (!options.isBound(AwsClientFactory)) {
    options
      .bind(AwsClientFactory)
      .toDynamicValue(() => new DefaultAwsClientFactory(clientConfigFromEnv()))
      .inSingletonScope();
  }
  if (!options.isBound(AwsProviderOptions)) {
    options
      .bind(AwsProviderOptions)
      .toDynamicValue(() => optionsFromEnv())
      .inSingletonScope();
  }
  options.bind(AwsProvider).toSelf().inSingletonScope();
  options.bind(EndpointProvider).toService(AwsProvider);
  options.bind(BatchProvider).toService(AwsProvider);
});

export default providerModule;
