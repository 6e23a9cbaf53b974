import type {
  BatchProvider as BatchProviderPort,
  EndpointProvider as EndpointProviderPort,
  EdgePackager as EdgePackagerPort,
  ArtifactStore as ArtifactStorePort,
} from './ports/provider.js';
import type { ProviderRegistry as ProviderRegistryPort } from './registry/provider-registry.js';
import * as tokens from './tokens.js';

// Each port is one interface and one injection token with the same name (Eclipse Theia's convention):
// `@inject(EndpointProvider) provider: EndpointProvider`.
export const EndpointProvider = tokens.EndpointProvider;
export type EndpointProvider = EndpointProviderPort;
export const BatchProvider = tokens.BatchProvider;
export type BatchProvider = BatchProviderPort;
export const EdgePackager = tokens.EdgePackager;
export type EdgePackager = EdgePackagerPort;
export const ArtifactStore = tokens.ArtifactStore;
export type ArtifactStore = ArtifactStorePort;
export const ProviderRegistry = tokens.ProviderRegistry;
export type ProviderRegistry = ProviderRegistryPort;

export * from './api/modelport.js';
export * from './capabilities.js';
export * from './engine/engine.js';
export * from './engine/events.js';
export * from './engine/retry.js';
export * from './engine/wait.js';
export * from './env.js';
export * from './errors.js';
export * from './hash.js';
export * from './local-files.js';
export * from './manifest/diagnostics.js';
export * from './manifest/loader.js';
export type { ModelFileOptions, OnnxInput } from './manifest/model-file.js';
export { checkModelFile, localModelPathOf, onnxInputs, onnxStructureProblem } from './manifest/model-file.js';
export { checkSemantics, uriScheme } from './manifest/semantic.js';
export type { SemanticContext, SemanticIssue } from './manifest/semantic.js';
export { validateAgainstSchema } from './manifest/schema-validator.js';
export type { SchemaIssue } from './manifest/schema-validator.js';
export { ManifestDocument, parseManifestText } from './manifest/source.js';
export * from './manifest/types.js';
export { manifestSchema } from './manifest/manifest.generated.js';
export * from './plan/diff.js';
export * from './plan/model.js';
export * from './plan/planner.js';
export * from './compare/index.js';
export * from './migrate/index.js';
export type {
  AsyncHandle,
  AsyncInvokeRequest,
  AsyncResult,
  DeploymentProvider,
  DeploymentStatus,
  DeploymentSummary,
  EdgeArtifact,
  InvokeRequest,
  InvokeResponse,
  ListOptions,
  ProviderContext,
  ResourceStatus,
} from './ports/provider.js';
export * from './ports/resources.js';
export * from './registry/declaration.js';
export * from './registry/discovery.js';
export { LazyProviderRegistry } from './registry/provider-registry.js';
export type { ModuleHost } from './registry/provider-registry.js';
export * from './status.js';
