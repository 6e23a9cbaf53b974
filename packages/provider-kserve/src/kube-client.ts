import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { ModelportError } from '@modelport/core';
import { mapKubeError } from './errors.js';
import type { InferenceService } from './render.js';

const GROUP = 'serving.kserve.io';
const VERSION = 'v1beta1';
const PLURAL = 'inferenceservices';

/** An InferenceService as the API returns it (metadata and status filled in by the server). */
export interface LiveInferenceService {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec: Record<string, unknown>;
  status?: IsvcStatus;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface IsvcStatus {
  observedGeneration?: number;
  url?: string;
  conditions?: Condition[];
  components?: Record<string, { traffic?: unknown[]; latestReadyRevision?: string; url?: string }>;
}

/** The kubeconfig to use: a file, or the default loader; then the manifest's context, if it names one. */
export function loadKubeConfig(path: string | undefined, context: string | undefined): KubeConfig {
  const config = new KubeConfig();
  try {
    if (path === undefined) config.loadFromDefault();
    else config.loadFromFile(path);
  } catch (error) {
    throw new ModelportError('auth', `cannot load the kubeconfig: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (context !== undefined) {
    if (config.getContextObject(context) === null) {
      throw new ModelportError('invalidInput', `the kubeconfig has no context "${context}"`, {
        hint: `contexts: ${
          config
            .getContexts()
            .map((c) => c.name)
            .join(', ') || '(none)'
        }`,
        details: { path: 'spec.extensions.kserve.context' },
      });
    }
    config.setCurrentContext(context);
  }
  return config;
}

/** InferenceService CRUD over the official client, every error mapped to a ModelportError. */
export class KubeClient {
  private readonly api: CustomObjectsApi;

  constructor(readonly config: KubeConfig) {
    this.api = config.makeApiClient(CustomObjectsApi);
  }

  async list(namespace: string | undefined, labelSelector: string): Promise<LiveInferenceService[]> {
    const result = (await this.call('list inferenceservices', () =>
      namespace === undefined
        ? this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, labelSelector })
        : this.api.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
            labelSelector,
          }),
    )) as { items?: LiveInferenceService[] };
    return result.items ?? [];
  }

  /** The object, or undefined when it does not exist. */
  async get(namespace: string, name: string): Promise<LiveInferenceService | undefined> {
    try {
      return (await this.call(`get inferenceservice ${namespace}/${name}`, () =>
        this.api.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
        }),
      )) as LiveInferenceService;
    } catch (error) {
      if (ModelportError.is(error, 'notFound')) return undefined;
      throw error;
    }
  }

  async create(body: InferenceService): Promise<LiveInferenceService> {
    const { namespace, name } = body.metadata;
    return (await this.call(`create inferenceservice ${namespace}/${name}`, () =>
      this.api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        body,
      }),
    )) as LiveInferenceService;
  }

  /** PUT with the body's resourceVersion: a concurrent change answers 409 Conflict. */
  async replace(body: LiveInferenceService): Promise<LiveInferenceService> {
    const { namespace, name } = body.metadata;
    return (await this.call(`update inferenceservice ${namespace}/${name}`, () =>
      this.api.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        body,
      }),
    )) as LiveInferenceService;
  }

  /** Deletes; false when it was already gone. */
  async delete(namespace: string, name: string): Promise<boolean> {
    try {
      await this.call(`delete inferenceservice ${namespace}/${name}`, () =>
        this.api.deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
        }),
      );
      return true;
    } catch (error) {
      if (ModelportError.is(error, 'notFound')) return false;
      throw error;
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw mapKubeError(error, what);
    }
  }
}
