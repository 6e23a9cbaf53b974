import { BatchProvider, EndpointProvider } from '@modelport/core';
import { ContainerModule } from '@modelport/core/di';
import { DefaultGcpClientFactory, clientConfigFromEnv } from './client-factory.js';
import { GcpProvider } from './gcp-provider.js';
import { optionsFromEnv } from './options.js';
import { GcpClientFactory, GcpProviderOptions } from './tokens.js';

/**
 * Binds the GCP provider for endpoints and batch jobs (one instance serves both). The client factory and
 * the options come from the environment unless the host bound its own first (tests bind an emulator's).
 * Loading this module loads no Google SDK: the factory imports them on first use.
 */
export const providerModule = new ContainerModule((options) => {
  if (!options.isBound(GcpProviderOptions)) {
    options
      .bind(GcpProviderOptions)
      .toDynamicValue(() => optionsFromEnv())
      .inSingletonScope();
  }
  if (!options.isBound(GcpClientFactory)) {
    options
      .bind(GcpClientFactory)
      .toDynamicValue(() => new DefaultGcpClientFactory(clientConfigFromEnv(process.env, optionsFromEnv())))
      .inSingletonScope();
  }
  options.bind(GcpProvider).toSelf().inSingletonScope();
  options.bind(EndpointProvider).toService(GcpProvider);
  options.bind(BatchProvider).toService(GcpProvider);
});

export default providerModule;
