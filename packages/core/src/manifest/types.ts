import type {
  BatchJobManifest,
  EdgePackageManifest,
  EndpointManifest,
  ModelportManifest,
} from './manifest.generated.js';
import type { Diagnostic } from './diagnostics.js';
import type { ManifestDocument } from './source.js';

export type * from './manifest.generated.js';

export type ManifestKind = ModelportManifest['kind'];

/** A manifest read from a file, validated, with the defaults applied. */
export interface LoadedManifest<M extends ModelportManifest = ModelportManifest> {
  manifest: M;
  /** Absolute path of the file it came from (or a label such as `<stdin>`). */
  file: string;
  /** Folder that relative paths in the manifest are resolved against. */
  baseDir: string;
  /** Where each field sits in the file, for error messages raised later (plan, apply). */
  document: ManifestDocument;
  /** Target provider id after defaults (`local` when spec.target is absent). */
  provider: string;
  /** Stable hash of the spec, tagged on the deployment's resources as `modelport.dev/spec-hash`. */
  specHash: string;
  /** Warnings found while loading (capability notes, unused extensions), shown again with the plan. */
  warnings: Diagnostic[];
}

export type LoadedEndpoint = LoadedManifest<EndpointManifest>;
export type LoadedBatchJob = LoadedManifest<BatchJobManifest>;
export type LoadedEdgePackage = LoadedManifest<EdgePackageManifest>;

export const DEFAULT_PROVIDER = 'local';
export const API_VERSION = 'modelport.dev/v1alpha1';

export function isEndpoint(m: LoadedManifest): m is LoadedEndpoint {
  return m.manifest.kind === 'Endpoint';
}
export function isBatchJob(m: LoadedManifest): m is LoadedBatchJob {
  return m.manifest.kind === 'BatchJob';
}
export function isEdgePackage(m: LoadedManifest): m is LoadedEdgePackage {
  return m.manifest.kind === 'EdgePackage';
}

export function endpointMode(m: EndpointManifest): 'realtime' | 'serverless' | 'async' {
  return m.spec.mode ?? 'realtime';
}
