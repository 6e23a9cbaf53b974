import { randomUUID } from 'node:crypto';
import type { PodState } from './predictor-pods.js';

/** A stored custom object: the fake API server keeps plain JSON, like etcd does. */
export type KubeObject = Record<string, unknown> & {
  metadata: Record<string, unknown> & { name: string; namespace: string; labels?: Record<string, string> };
  spec?: unknown;
  status?: Record<string, unknown>;
};

/** Why a write was refused, mapped to a Kubernetes Status by the server. */
export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** What decides an object's readiness; reads count so tests never depend on wall-clock time. */
interface ReadinessTrack {
  reads: number;
  generation: number;
  /** The generation is reconciled: its status (traffic split included) stays as it was computed. */
  settled?: boolean;
}

export interface ReadinessOverride {
  /** `never`: stays Ready=Unknown forever; `fail`: turns Ready=False with this reason. */
  mode: 'never' | 'fail';
  reason?: string;
  message?: string;
}

export interface StoreOptions {
  /** Reads (GET or list) of an object after a spec change before it turns Ready (default 2). */
  readyAfterReads?: number;
  /** The URL reported in status.url (default http://{name}.{namespace}.example.com). */
  urlFor?: (name: string, namespace: string) => string;
}

/** InferenceServices by namespace/name, with resourceVersion, generation and a readiness walk. */
export class KubeStore {
  readonly objects = new Map<string, KubeObject>();
  private readonly tracks = new Map<string, ReadinessTrack>();
  private readonly overrides = new Map<string, ReadinessOverride>();
  private resourceVersion = 1000;
  private pods: { stateOf(key: string, generation: number): PodState | undefined } | undefined;

  constructor(private readonly options: StoreOptions = {}) {}

  /**
   * Readiness from predictor pods that really run (custom containers, see predictor-pods.ts) instead of the
   * read count: Ready once the pod of the current generation passed its probe, Ready=False when it failed.
   */
  attachPods(pods: { stateOf(key: string, generation: number): PodState | undefined }): void {
    this.pods = pods;
  }

  /** Makes `namespace/name` never become Ready, or become Ready=False (applies to later creates too). */
  setReadiness(namespace: string, name: string, override: ReadinessOverride | undefined): void {
    if (override === undefined) this.overrides.delete(`${namespace}/${name}`);
    else this.overrides.set(`${namespace}/${name}`, override);
  }

  list(namespace: string | undefined, selector: string | undefined): KubeObject[] {
    const matches = [...this.objects.values()].filter(
      (o) => (namespace === undefined || o.metadata.namespace === namespace) && matchesSelector(o, selector),
    );
    for (const o of matches) this.touch(o);
    return matches.map(clone);
  }

  get(namespace: string, name: string): KubeObject {
    const o = this.objects.get(`${namespace}/${name}`);
    if (o === undefined) throw notFound(name);
    this.touch(o);
    return clone(o);
  }

  create(namespace: string, body: KubeObject): KubeObject {
    const name = body.metadata.name;
    const key = `${namespace}/${name}`;
    if (this.objects.has(key)) {
      throw new KubeError(
        409,
        'AlreadyExists',
        `inferenceservices.serving.kserve.io "${name}" already exists`,
      );
    }
    const stored: KubeObject = {
      ...clone(body),
      metadata: {
        ...clone(body.metadata),
        namespace,
        uid: randomUUID(),
        generation: 1,
        resourceVersion: this.nextVersion(),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    stored.status = pendingStatus(undefined);
    this.objects.set(key, stored);
    this.tracks.set(key, { reads: 0, generation: 1 });
    return clone(stored);
  }

  /** PUT: the body's resourceVersion must match (optimistic concurrency); status is kept (subresource). */
  replace(namespace: string, name: string, body: KubeObject): KubeObject {
    const key = `${namespace}/${name}`;
    const current = this.objects.get(key);
    if (current === undefined) throw notFound(name);
    const sent = body.metadata.resourceVersion;
    if (sent !== undefined && sent !== current.metadata.resourceVersion) {
      throw new KubeError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on inferenceservices.serving.kserve.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return this.store(key, current, body);
  }

  /** A write whose body was computed from `current` (PATCH). */
  store(key: string, current: KubeObject, body: KubeObject): KubeObject {
    const specChanged = JSON.stringify(body.spec) !== JSON.stringify(current.spec);
    const generation = (current.metadata['generation'] as number) + (specChanged ? 1 : 0);
    const next: KubeObject = {
      ...clone(body),
      metadata: {
        ...clone(body.metadata),
        name: current.metadata.name,
        namespace: current.metadata.namespace,
        uid: current.metadata['uid'],
        creationTimestamp: current.metadata['creationTimestamp'],
        generation,
        resourceVersion: this.nextVersion(),
      },
    };
    next.status = specChanged ? pendingStatus(current.status) : clone(current.status ?? {});
    if (specChanged) this.tracks.set(key, { reads: 0, generation });
    this.objects.set(key, next);
    return clone(next);
  }

  delete(namespace: string, name: string): KubeObject {
    const key = `${namespace}/${name}`;
    const current = this.objects.get(key);
    if (current === undefined) throw notFound(name);
    this.objects.delete(key);
    this.tracks.delete(key);
    return clone(current);
  }

  private nextVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  /** One read: the controller "reconciles" once enough reads have happened since the last spec change. */
  private touch(o: KubeObject): void {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    const track = this.tracks.get(key);
    if (track === undefined || track.settled === true) return;
    track.reads += 1;
    const override = this.overrides.get(key);
    if (override?.mode === 'never') return;
    if (override?.mode === 'fail') {
      o.status = {
        ...o.status,
        observedGeneration: track.generation,
        conditions: [
          condition('PredictorReady', 'False', override.reason ?? 'RevisionFailed', override.message),
          condition('Ready', 'False', override.reason ?? 'RevisionFailed', override.message),
        ],
      };
      return;
    }
    const { name, namespace } = o.metadata;
    const pod = this.pods?.stateOf(key, track.generation);
    if (pod?.phase === 'pending') {
      // Whatever the status said before (a failure injected earlier included), the pod is starting now.
      o.status = {
        ...pendingStatus(o.status),
        conditions: [
          condition('PredictorReady', 'Unknown', pod.reason),
          condition('Ready', 'Unknown', pod.reason),
        ],
      };
      return;
    }
    if (pod?.phase === 'failed') {
      o.status = failedStatus(o, track.generation, pod);
      return;
    }
    if (pod === undefined && track.reads < (this.options.readyAfterReads ?? 2)) return;
    o.status = readyStatus(o, track.generation, this.options.urlFor?.(name, namespace) ?? pod?.url);
    track.settled = true;
  }
}

function readyStatus(o: KubeObject, generation: number, url: string | undefined): Record<string, unknown> {
  const { name, namespace } = o.metadata;
  const spec = (o.spec ?? {}) as { predictor?: { canaryTrafficPercent?: number } };
  const previous = o.status?.['components'] as { predictor?: { latestReadyRevision?: string } } | undefined;
  const revision = `${name}-predictor-${String(generation).padStart(5, '0')}`;
  const prior = previous?.predictor?.latestReadyRevision;
  const canary = spec.predictor?.canaryTrafficPercent;
  // KServe splits traffic between the new revision and the last ready one while a canary is set.
  const traffic =
    canary !== undefined && prior !== undefined && prior !== revision
      ? [
          { revisionName: revision, percent: canary, latestRevision: true, tag: 'latest' },
          { revisionName: prior, percent: 100 - canary, latestRevision: false, tag: 'prev' },
        ]
      : [{ revisionName: revision, percent: 100, latestRevision: true }];
  const address = url ?? `http://${name}.${namespace}.example.com`;
  return {
    observedGeneration: generation,
    url: address,
    address: { url: `http://${name}-predictor.${namespace}.svc.cluster.local` },
    conditions: [
      condition('IngressReady', 'True'),
      condition('PredictorReady', 'True'),
      condition('Ready', 'True'),
    ],
    components: {
      predictor: {
        latestCreatedRevision: revision,
        latestReadyRevision: revision,
        ...(canary !== undefined && prior !== undefined && prior !== revision
          ? { previousRolledoutRevision: prior }
          : { latestRolledoutRevision: revision }),
        url: address,
        traffic,
      },
    },
    modelStatus: {
      transitionStatus: 'UpToDate',
      states: { activeModelState: 'Loaded', targetModelState: 'Loaded' },
    },
  };
}

/**
 * A revision whose pod failed: Ready=False with the reason (Knative's RevisionFailed, the kubelet's
 * ImagePullBackOff, the progress deadline), and KServe's model status for a container or storage-initializer
 * failure (PropagateModelStatus: FailedToLoad, lastFailureInfo.reason ModelLoadFailed with the exit code).
 */
function failedStatus(
  o: KubeObject,
  generation: number,
  pod: Extract<PodState, { phase: 'failed' }>,
): Record<string, unknown> {
  return {
    ...o.status,
    observedGeneration: generation,
    conditions: [
      condition('PredictorReady', 'False', pod.reason, pod.message),
      condition('Ready', 'False', pod.reason, pod.message),
    ],
    modelStatus: {
      transitionStatus: 'BlockedByFailedLoad',
      states: { targetModelState: 'FailedToLoad' },
      ...(pod.exitCode === undefined
        ? {}
        : { lastFailureInfo: { reason: 'ModelLoadFailed', message: pod.message, exitCode: pod.exitCode } }),
    },
  };
}

function pendingStatus(previous: Record<string, unknown> | undefined): Record<string, unknown> {
  return {
    ...clone(previous ?? {}),
    conditions: [
      condition('PredictorReady', 'Unknown', 'Reconciling'),
      condition('Ready', 'Unknown', 'Reconciling'),
    ],
  };
}

function condition(type: string, status: string, reason?: string, message?: string): Record<string, unknown> {
  return {
    type,
    status,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(reason === undefined ? {} : { reason }),
    ...(message === undefined ? {} : { message }),
  };
}

function notFound(name: string): KubeError {
  return new KubeError(404, 'NotFound', `inferenceservices.serving.kserve.io "${name}" not found`);
}

/** Equality selectors (`a=b`, `a==b`, `a!=b`) and existence (`a`), comma-separated: what modelport and kubectl -l use. */
export function matchesSelector(o: KubeObject, selector: string | undefined): boolean {
  if (selector === undefined || selector === '') return true;
  const labels = o.metadata.labels ?? {};
  return selector.split(',').every((term) => {
    const neq = /^([^!=]+)!=(.*)$/.exec(term);
    if (neq) return labels[neq[1]!.trim()] !== neq[2]!.trim();
    const eq = /^([^=]+)==?(.*)$/.exec(term);
    if (eq) return labels[eq[1]!.trim()] === eq[2]!.trim();
    return labels[term.trim()] !== undefined;
  });
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
