export * from './contract/provider-contract.js';
