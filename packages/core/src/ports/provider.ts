import type { Capabilities } from '../capabilities.js';
import type { LoadedManifest } from '../manifest/types.js';
import type { PlanAction } from '../plan/model.js';
import type { DeploymentState } from '../status.js';
import type { DesiredResource, ObservedResource } from './resources.js';

/** What a provider gets with every call: cancellation and a way to report progress (UI stays in the CLI). */
export interface ProviderContext {
  signal: AbortSignal;
  progress(message: string, fraction?: number): void;
  log(level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>): void;
}

export interface ResourceStatus {
  type: string;
  name: string;
  state: DeploymentState;
  message?: string;
}

export interface DeploymentStatus {
  kind: string;
  name: string;
  provider: string;
  state: DeploymentState;
  message?: string;
  /** Where to call it, for endpoints. */
  url?: string;
  specHash?: string;
  resources: ResourceStatus[];
  /** Provider-specific facts (instance counts, traffic split, job progress). */
  details?: Record<string, unknown>;
}

export interface DeploymentSummary {
  kind: string;
  name: string;
  provider: string;
  state: DeploymentState;
  specHash?: string;
  url?: string;
  region?: string;
}

export interface ListOptions {
  region?: string;
  extensions?: Record<string, unknown>;
  /** Folder the local provider keeps its state in. */
  stateDir?: string;
}

/**
 * The part every deployment provider shares: it says what a manifest needs (desired), what exists
 * (observed, found by tags), and carries out one planned action at a time. Core diffs and orders.
 */
export interface DeploymentProvider {
  readonly id: string;
  readonly capabilities: Capabilities;
  desired(manifest: LoadedManifest, ctx: ProviderContext): Promise<DesiredResource[]>;
  observe(manifest: LoadedManifest, ctx: ProviderContext): Promise<ObservedResource[]>;
  /** Carries out one action; waits until the resource is usable (or throws a ModelportError). */
  execute(action: PlanAction, manifest: LoadedManifest, ctx: ProviderContext): Promise<void>;
  status(manifest: LoadedManifest, ctx: ProviderContext): Promise<DeploymentStatus>;
  list(options: ListOptions, ctx: ProviderContext): Promise<DeploymentSummary[]>;
  /**
   * The exact documents apply would write, for GitOps (`plan --output yaml`); only providers whose
   * resources are declarative documents (Kubernetes) have it.
   */
  render?(manifest: LoadedManifest): Promise<unknown[]>;
}

export interface InvokeRequest {
  body: Uint8Array;
  contentType: string;
  accept?: string;
  /** Local provider only: which serving protocol to call (sagemaker, kserve-v1, v2, vertex, azure). */
  protocol?: string;
  timeoutMs?: number;
}

export interface InvokeResponse {
  status: number;
  body: Uint8Array;
  contentType: string;
  latencyMs: number;
  /** Which version/variant answered, when the provider says. */
  servedBy?: string;
}

export interface AsyncInvokeRequest {
  /** The payload, streamed: async payloads may be up to 1 GB. */
  body: AsyncIterable<Uint8Array> | Uint8Array;
  contentType: string;
  sizeBytes?: number;
}

export interface AsyncHandle {
  /**
   * Self-describing id, `<provider>/<deployment>/<request>`: `modelport result <id>` needs nothing else
   * (providers encode what they need to find the result in the request part).
   */
  id: string;
  /** Where the result will be written, when the provider says. */
  outputLocation?: string;
}

export interface AsyncResult {
  id: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  contentType?: string;
  body?: Uint8Array;
  error?: string;
  attempts?: number;
}

export interface EndpointProvider extends DeploymentProvider {
  invoke(manifest: LoadedManifest, request: InvokeRequest, ctx: ProviderContext): Promise<InvokeResponse>;
  invokeAsync?(
    manifest: LoadedManifest,
    request: AsyncInvokeRequest,
    ctx: ProviderContext,
  ): Promise<AsyncHandle>;
  /** The result of an async request; the manifest is passed when the caller has it. */
  asyncResult?(id: string, ctx: ProviderContext, manifest?: LoadedManifest): Promise<AsyncResult>;
}

/** A provider of BatchJob: applying runs the job; its status is the job's. */
export type BatchProvider = DeploymentProvider;

export interface EdgeArtifact {
  format: string;
  platform?: string;
  path: string;
  sha256: string;
  bytes: number;
}

export interface EdgePackager {
  package(
    manifest: LoadedManifest,
    options: { outDir: string; signingKey?: string },
    ctx: ProviderContext,
  ): Promise<EdgeArtifact[]>;
}

/** Where model artifacts and data live for a provider (S3, GCS, blob, a local folder). */
export interface ArtifactStore {
  readonly scheme: string;
  put(localPath: string, key: string, ctx: ProviderContext): Promise<string>;
  get(uri: string, localPath: string, ctx: ProviderContext): Promise<void>;
  exists(uri: string, ctx: ProviderContext): Promise<boolean>;
}
