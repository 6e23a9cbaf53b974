export { capabilities } from './capabilities.js';
export { LocalProvider, SERVER_TYPE, BATCH_TYPE } from './local-provider.js';
export { providerModule } from './module.js';
export { StateStore } from './state/state-store.js';
export { AsyncQueue } from './state/async-queue.js';
export { stateDirFor, STATE_DIR_ENV } from './paths.js';
