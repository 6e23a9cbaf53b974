import { ContainerModule } from '@modelport/core/di';
import { BatchProvider, EndpointProvider } from '@modelport/core';
import { LocalProvider } from './local-provider.js';

/** Binds the local provider for endpoints and batch jobs (one instance serves both). */
export const providerModule = new ContainerModule((options) => {
  options.bind(LocalProvider).toSelf().inSingletonScope();
  options.bind(EndpointProvider).toService(LocalProvider);
  options.bind(BatchProvider).toService(LocalProvider);
});

export default providerModule;
