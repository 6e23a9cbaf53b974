import { EndpointProvider } from '@modelport/core';
import { ContainerModule } from '@modelport/core/di';
import { KserveProvider } from './kserve-provider.js';
import { optionsFromEnv } from './options.js';
import { KserveProviderOptions } from './tokens.js';

/**
 * Binds the KServe endpoint provider. Options come from the environment (MODELPORT_KSERVE_POLL_MS,
 * MODELPORT_KSERVE_TIMEOUT_MS; KUBECONFIG through the client's default loader) unless the host bound its
 * own first (tests bind a kubeconfig for the fake API server).
 */
export const providerModule = new ContainerModule((options) => {
  if (!options.isBound(KserveProviderOptions)) {
    options
      .bind(KserveProviderOptions)
      .toDynamicValue(() => optionsFromEnv())
      .inSingletonScope();
  }
  options.bind(KserveProvider).toSelf().inSingletonScope();
  options.bind(EndpointProvider).toService(KserveProvider);
});

export default providerModule;
