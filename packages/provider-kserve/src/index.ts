import type { KserveProviderOptions as KserveProviderOptionsShape } from './options.js';
import * as tokens from './tokens.js';

// One token and one interface with the same name: `@inject(KserveProviderOptions) o: KserveProviderOptions`.
export const KserveProviderOptions = tokens.KserveProviderOptions;
export type KserveProviderOptions = KserveProviderOptionsShape;

export { capabilities } from './capabilities.js';
export { KserveProvider } from './kserve-provider.js';
export { providerModule } from './module.js';
export { DEFAULT_OPTIONS, optionsFromEnv } from './options.js';
export { ISVC_TYPE, desiredProperties, renderInferenceService } from './render.js';
export type { InferenceService } from './render.js';
export { mapKubeError } from './errors.js';
export { stateOf } from './conditions.js';
