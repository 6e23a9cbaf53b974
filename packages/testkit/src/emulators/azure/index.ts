export {
  AzureEmulator,
  API_VERSION as AZURE_ML_API_VERSION,
  DATASTORE_CONTAINER,
  DEFAULT_DATASTORE,
  KNOWN_SKUS as AZURE_KNOWN_SKUS,
} from './azure-emulator.js';
export type { ArmResource, AzureEmulatorOptions } from './azure-emulator.js';
export { AzureFaults } from './faults.js';
export type { AzureCallHook, AzureCallInfo, LroStyle } from './faults.js';
export { ArmValidator, azureSpecsDir } from './arm-validator.js';
export type { ArmViolation } from './arm-validator.js';
export { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY } from './azurite.js';
export type { RunningAzurite } from './azurite.js';
export { BlobRest } from './blob-rest.js';
export type { BlobAccount } from './blob-rest.js';
export { SCORING_LIMIT_BYTES } from './scoring.js';
export { createTestCertificate } from './tls.js';
export type { TestCertificate } from './tls.js';
