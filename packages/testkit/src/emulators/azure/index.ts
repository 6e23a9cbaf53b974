export {
  AzureEmulator,
  API_VERSION as AZURE_ML_API_VERSION,
  DATASTORE_CONTAINER,
  DEFAULT_DATASTORE,
  KNOWN_SKUS as AZURE_KNOWN_SKUS,
  WORKSPACE_REGISTRY as AZURE_WORKSPACE_REGISTRY,
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
export {
  MODEL_MOUNT_ROOT as AZURE_MODEL_MOUNT_ROOT,
  PROBE_DEFAULTS as AZURE_PROBE_DEFAULTS,
} from './inference-containers.js';
export { createTestCertificate } from './tls.js';
export type { TestCertificate } from './tls.js';
