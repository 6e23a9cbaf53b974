export * from './kube-api-server.js';
export * from './kube-store.js';
export * from './ingress.js';
export * from './kubeconfig.js';
export { applyJsonPatch, applyMergePatch } from './patch.js';
export * from './predictor-pods.js';
export * from './storage.js';
export * from './rules.js';
