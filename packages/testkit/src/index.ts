export * from './contract/provider-contract.js';
export * from './contract/harness.js';
export * from './emulators/aws/index.js';
export * from './emulators/azure/index.js';
export * from './emulators/kubernetes/index.js';
export * from './emulators/gcp/index.js';
export * from './emulators/shared/containers.js';
export * from './emulators/shared/rules.js';
