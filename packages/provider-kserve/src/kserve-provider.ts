import type {
  DeploymentStatus,
  DeploymentSummary,
  DesiredResource,
  EndpointManifest,
  EndpointProvider,
  InvokeRequest,
  InvokeResponse,
  KserveExtensions,
  ListOptions,
  LoadedManifest,
  ObservedResource,
  PlanAction,
  ProviderContext,
} from '@modelport/core';
import { DeploymentState, MANAGED_BY, ModelportError, TAGS, isEndpoint } from '@modelport/core';
import { inject, injectable } from '@modelport/core/di';
import { capabilities } from './capabilities.js';
import { describeReady, stateOf } from './conditions.js';
import { statusReason } from './errors.js';
import { invokeInferenceService } from './invoke.js';
import { KubeClient, loadKubeConfig } from './kube-client.js';
import type { LiveInferenceService } from './kube-client.js';
import { foreignAnnotations, toObserved } from './observe.js';
import type { KserveProviderOptions as Options } from './options.js';
import { ISVC_TYPE, desiredProperties, renderInferenceService, toResource } from './render.js';
import { settingsOf } from './settings.js';
import { KserveProviderOptions } from './tokens.js';
import { waitGone, waitReady } from './wait.js';

/** PUTs retried after a 409 Conflict (someone else wrote between our read and our write). */
const CONFLICT_RETRIES = 3;

/**
 * The KServe provider: one InferenceService per Endpoint, on the cluster of the user's kubeconfig. It keeps
 * no state: the object's labels say it is modelport's and which spec it carries.
 */
@injectable()
export class KserveProvider implements EndpointProvider {
  readonly id = 'kserve';
  readonly capabilities = capabilities;
  private readonly clients = new Map<string, KubeClient>();

  constructor(@inject(KserveProviderOptions) private readonly options: Options) {}

  async desired(manifest: LoadedManifest): Promise<DesiredResource[]> {
    if (!isEndpoint(manifest)) return [];
    return [
      { type: ISVC_TYPE, name: manifest.manifest.metadata.name, properties: desiredProperties(manifest) },
    ];
  }

  async observe(manifest: LoadedManifest): Promise<ObservedResource[]> {
    if (!isEndpoint(manifest)) return [];
    const { namespace, name, client } = this.target(manifest.manifest);
    const found = await client.list(namespace, `${TAGS.name}=${name}`);
    // An object of the same name without our labels is someone else's: the planner refuses to touch it.
    const live = found.find((i) => i.metadata.name === name) ?? (await client.get(namespace, name));
    if (live === undefined) return [];
    return [toObserved(live, desiredProperties(manifest))];
  }

  async execute(action: PlanAction, manifest: LoadedManifest, ctx: ProviderContext): Promise<void> {
    if (!isEndpoint(manifest))
      throw new ModelportError('capability', 'KServe deploys Endpoint manifests only');
    const { namespace, name, client } = this.target(manifest.manifest);
    switch (action.kind) {
      case 'noop':
        return;
      case 'delete':
        ctx.progress(`deleting inferenceservice ${namespace}/${name}`);
        await client.delete(namespace, name);
        await waitGone(client, namespace, name, this.options, ctx);
        return;
      case 'create': {
        const body = toResource(manifest.manifest, requireDesired(action).properties, action.specHash);
        ctx.progress(`creating inferenceservice ${namespace}/${name}`);
        await client.create(body);
        await waitReady(client, namespace, name, this.options, ctx);
        return;
      }
      case 'update':
      case 'replace': {
        // An InferenceService changes in place (KServe rolls out a new revision; with canaryTrafficPercent
        // it splits traffic), so replace is an update too.
        const body = toResource(manifest.manifest, requireDesired(action).properties, action.specHash);
        ctx.progress(`updating inferenceservice ${namespace}/${name}`);
        await this.update(client, body);
        await waitReady(client, namespace, name, this.options, ctx);
        return;
      }
    }
  }

  /** The exact InferenceService apply writes (`modelport plan --output yaml`, for GitOps). */
  async render(manifest: LoadedManifest): Promise<unknown[]> {
    return [renderInferenceService(manifest)];
  }

  async status(manifest: LoadedManifest): Promise<DeploymentStatus> {
    const base = { kind: manifest.manifest.kind, name: manifest.manifest.metadata.name, provider: this.id };
    if (!isEndpoint(manifest)) return { ...base, state: DeploymentState.Absent, resources: [] };
    const { namespace, name, client } = this.target(manifest.manifest);
    const live = await client.get(namespace, name);
    if (live === undefined) return { ...base, state: DeploymentState.Absent, resources: [] };
    const state = stateOf(live);
    const message = describeReady(live);
    return {
      ...base,
      state,
      message,
      ...(live.status?.url === undefined ? {} : { url: live.status.url }),
      ...specHashOf(live),
      resources: [{ type: ISVC_TYPE, name, state, message }],
      details: {
        namespace,
        generation: live.metadata.generation,
        observedGeneration: live.status?.observedGeneration,
        conditions: live.status?.conditions ?? [],
        traffic: live.status?.components?.['predictor']?.traffic ?? [],
      },
    };
  }

  async list(options: ListOptions): Promise<DeploymentSummary[]> {
    const ext = (options.extensions?.['kserve'] ?? {}) as KserveExtensions;
    const client = this.client(ext.context);
    // Without a namespace, every namespace the credentials may list.
    const items = await client.list(ext.namespace, `${TAGS.managedBy}=${MANAGED_BY}`);
    return items.map((isvc) => ({
      kind: isvc.metadata.labels?.[TAGS.kind] ?? 'Endpoint',
      name: isvc.metadata.labels?.[TAGS.name] ?? isvc.metadata.name,
      provider: this.id,
      state: stateOf(isvc),
      ...specHashOf(isvc),
      ...(isvc.status?.url === undefined ? {} : { url: isvc.status.url }),
    }));
  }

  async invoke(
    manifest: LoadedManifest,
    request: InvokeRequest,
    ctx: ProviderContext,
  ): Promise<InvokeResponse> {
    if (!isEndpoint(manifest))
      throw new ModelportError('capability', 'only Endpoint manifests can be invoked');
    const { namespace, name, client } = this.target(manifest.manifest);
    const live = await client.get(namespace, name);
    if (live === undefined) {
      throw new ModelportError('notFound', `inferenceservice ${namespace}/${name} does not exist`, {
        hint: 'run modelport apply first',
      });
    }
    return invokeInferenceService(live, request, ctx);
  }

  /** GET, overwrite what modelport owns, PUT with the read resourceVersion; again on a 409 Conflict. */
  private async update(client: KubeClient, body: ReturnType<typeof toResource>): Promise<void> {
    const { namespace, name } = body.metadata;
    for (let attempt = 1; ; attempt++) {
      const live = await client.get(namespace, name);
      if (live === undefined) {
        await client.create(body);
        return;
      }
      // Status is the controller's (a subresource): it is not sent back.
      const { status: _status, ...rest } = live;
      const next: LiveInferenceService = {
        ...rest,
        metadata: {
          ...live.metadata,
          // The labels and annotations are the manifest's (observe compares all of them, so a label removed
          // from the manifest must go); only kubectl's own annotations, which observe ignores, are kept.
          labels: body.metadata.labels,
          annotations: { ...foreignAnnotations(live), ...body.metadata.annotations },
        },
        spec: body.spec,
      };
      try {
        await client.replace(next);
        return;
      } catch (error) {
        if (attempt >= CONFLICT_RETRIES || statusReason(error) !== 'Conflict') throw error;
      }
    }
  }

  private target(manifest: EndpointManifest): { namespace: string; name: string; client: KubeClient } {
    const settings = settingsOf(manifest);
    return {
      namespace: settings.namespace,
      name: manifest.metadata.name,
      client: this.client(settings.context),
    };
  }

  /** One client per kubeconfig context, made on first use (loading the kubeconfig reads files). */
  private client(context: string | undefined): KubeClient {
    const key = context ?? '';
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new KubeClient(loadKubeConfig(this.options.kubeconfigPath, context));
      this.clients.set(key, client);
    }
    return client;
  }
}

function requireDesired(action: PlanAction): DesiredResource {
  if (action.desired === undefined)
    throw new ModelportError('internal', `${action.kind} ${action.id} has no desired resource`);
  return action.desired;
}

function specHashOf(isvc: LiveInferenceService): { specHash?: string } {
  const hash = isvc.metadata.labels?.[TAGS.specHash];
  return hash === undefined ? {} : { specHash: hash };
}
