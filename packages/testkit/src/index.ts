export * from './contract/provider-contract.js';
export * from './emulators/aws/index.js';
export * from './emulators/kubernetes/index.js';
