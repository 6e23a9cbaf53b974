/**
 * What a provider can do, declared as data so the planner refuses or warns before any cloud call
 * (libcloud's `features`, done with types). Providers export it from a module that imports no cloud SDK,
 * so `modelport validate` and `modelport providers` can read it cheaply.
 */
export type EndpointMode = 'realtime' | 'serverless' | 'async';
export type RolloutStrategy = 'replace' | 'blue-green' | 'canary';
export type Support = 'native' | 'emulated' | 'none';

export interface ModeCapabilities {
  support: Support;
  /** How the provider does it, said in plans (e.g. "SageMaker serverless endpoint"). */
  via?: string;
  /** Largest request body, in MB (1 MB = 2^20 bytes). */
  maxPayloadMB: number;
  /**
   * A larger limit behind a provider switch, `extensions.<provider>.<extension>: true` (Vertex AI: 1.5 MB
   * on a shared endpoint, 10 MB on a dedicated one).
   */
  largerPayloadWith?: { extension: string; maxPayloadMB: number };
  /** Longest request, in seconds. */
  maxTimeoutSeconds: number;
  scaleToZero: boolean;
  autoscaling: boolean;
  /** The neutral scaling metrics it autoscales on (absent: any the schema allows). */
  scalingMetrics?: readonly string[];
  rolloutStrategies: readonly RolloutStrategy[];
  shadow: boolean;
  /** Neutral accelerator names it can attach (`nvidia-t4`, ...); empty for CPU only. */
  accelerators: readonly string[];
  /** Why support is emulated or missing, shown in plans and errors. */
  note?: string;
}

export interface BatchCapabilities {
  support: Support;
  via?: string;
  engines: readonly string[];
  defaultEngine: string;
  formats: readonly ('jsonl' | 'csv')[];
  schedule: boolean;
  triggerOnNewInput: boolean;
  maxMiniBatchMB?: number;
  note?: string;
}

/**
 * One machine type of a provider's catalog, as data: what `spec.compute` is matched against, and what
 * `modelport migrate` translates an explicit `instanceType` through (its specs, then the smallest type of
 * the target that satisfies them).
 */
export interface InstanceSpec {
  name: string;
  vcpus: number;
  memoryGiB: number;
  /** Neutral accelerator name (`nvidia-t4`) and count; absent for CPU types. */
  accelerator?: { type: string; count: number };
}

export interface Capabilities {
  /** Provider id used in `spec.target.provider`. */
  provider: string;
  displayName: string;
  /** Cloud providers never default a region: a manifest without one is an error. */
  requiresRegion: boolean;
  /** Known regions, for a warning on a likely typo (empty: not checked). */
  regions: readonly string[];
  modelFormats: readonly string[];
  /** URI schemes accepted in spec.model.uri (`file` for local paths). */
  modelUriSchemes: readonly string[];
  /** Longest deployment name the provider accepts once its own suffixes are added. */
  maxNameLength: number;
  endpoint: Readonly<Record<EndpointMode, ModeCapabilities>>;
  batch: BatchCapabilities;
  /** Extensions keys the provider requires, e.g. `['subscriptionId', 'resourceGroup', 'workspace']`. */
  requiredExtensions: readonly string[];
  /** Keys required only by batch jobs or async endpoints (Azure ML runs both on a compute cluster). */
  requiredExtensionsFor?: { batch?: readonly string[]; async?: readonly string[] };
  /**
   * The machine types `spec.compute` maps to, smallest first within a family. Absent when the provider
   * takes vCPUs and memory as they are (local, KServe): there is no catalog to translate through.
   */
  instances?: readonly InstanceSpec[];
}

/** Every extension key a manifest of this kind (and endpoint mode) needs on this provider. */
export function requiredExtensionsOf(caps: Capabilities, kind: string, mode?: string): string[] {
  const extra =
    kind === 'BatchJob'
      ? caps.requiredExtensionsFor?.batch
      : mode === 'async'
        ? caps.requiredExtensionsFor?.async
        : undefined;
  return [...new Set([...caps.requiredExtensions, ...(extra ?? [])])];
}

/** The payload limit of a mode for a manifest's own extensions of that provider. */
export function effectiveMaxPayloadMB(
  mode: ModeCapabilities,
  extensions: Readonly<Record<string, unknown>> | undefined,
): number {
  const larger = mode.largerPayloadWith;
  // A switch only ever raises the limit (a mode spread from another one carries its switch along).
  return larger !== undefined && extensions?.[larger.extension] === true
    ? Math.max(larger.maxPayloadMB, mode.maxPayloadMB)
    : mode.maxPayloadMB;
}

/** A mode the provider does not offer at all, for use in declarations. */
export const UNSUPPORTED_MODE: ModeCapabilities = {
  support: 'none',
  maxPayloadMB: 0,
  maxTimeoutSeconds: 0,
  scaleToZero: false,
  autoscaling: false,
  rolloutStrategies: [],
  shadow: false,
  accelerators: [],
};

export const UNSUPPORTED_BATCH: BatchCapabilities = {
  support: 'none',
  engines: [],
  defaultEngine: '',
  formats: [],
  schedule: false,
  triggerOnNewInput: false,
};
