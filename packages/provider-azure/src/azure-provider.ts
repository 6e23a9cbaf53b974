import type {
  AsyncHandle,
  AsyncInvokeRequest,
  AsyncResult,
  DeploymentStatus,
  DeploymentSummary,
  DesiredResource,
  Diagnostic,
  EndpointProvider,
  InvokeRequest,
  InvokeResponse,
  ListOptions,
  LoadedEndpoint,
  LoadedManifest,
  ObservedResource,
  PlanAction,
  ProviderContext,
} from '@modelport/core';
import {
  DeploymentState,
  ModelportError,
  endpointMode,
  isBatchJob,
  isEndpoint,
  resourceKey,
  throwIfCancelled,
} from '@modelport/core';
import { inject, injectable } from '@modelport/core/di';
import {
  assetId,
  createEnvironment,
  createModel,
  deleteEnvironment,
  deleteModel,
  modelSource,
  observeEnvironments,
  observeModels,
  servingImage,
} from './assets.js';
import { asyncResultEmulated, invokeAsyncEmulated, parseAsyncRef } from './async-emulation.js';
import { autoscaleResource, deleteAutoscale, observeAutoscale, putAutoscale } from './autoscale.js';
import {
  asyncResources,
  batchEnvironment,
  batchJobResources,
  computeIdOf,
  deleteBatchDeployment,
  deleteBatchEndpoint,
  deleteBatchJob,
  observeBatch,
  runBatchJob,
} from './batch.js';
import { capabilities } from './capabilities.js';
import type { AzureClientFactory as ClientFactory } from './client-factory.js';
import type { DeploymentContext } from './deployment-context.js';
import { invokeOnline } from './invoke.js';
import { listDeployments } from './list.js';
import {
  autoscaled,
  createEndpoint,
  deleteDeployment,
  deleteEndpoint,
  observeOnline,
  onlineResources,
  putDeployment,
  setTraffic,
} from './online.js';
import type { AzureProviderOptions as Options } from './options.js';
import { RT } from './resource-types.js';
import { settingsOf } from './settings.js';
import { AzureClientFactory, AzureProviderOptions } from './tokens.js';

/**
 * The Azure provider: Azure ML managed online endpoints (blue-green and canary through two
 * deployments and the traffic map, Azure Monitor autoscale), batch endpoints for BatchJob, and async
 * endpoints emulated by batch jobs when the manifest allows it, over the official ARM SDKs. It keeps no
 * state: every resource is tagged, and `observe` finds them again by name and tags.
 */
@injectable()
export class AzureProvider implements EndpointProvider {
  readonly id = 'azure';
  readonly capabilities = capabilities;

  constructor(
    @inject(AzureClientFactory) private readonly factory: ClientFactory,
    @inject(AzureProviderOptions) private readonly options: Options,
  ) {}

  async desired(manifest: LoadedManifest, ctx: ProviderContext): Promise<DesiredResource[]> {
    const dc = this.context(manifest, ctx);
    if (!isEndpoint(manifest) && !isBatchJob(manifest)) return [];
    const [source, image] = await Promise.all([modelSource(manifest), servingImage(dc)]);
    if (isBatchJob(manifest)) return batchJobResources(manifest, dc.settings, source, image);
    const mode = endpointMode((manifest as LoadedEndpoint).manifest);
    if (mode === 'async') {
      const spec = (manifest as LoadedEndpoint).manifest.spec;
      if (spec.async?.allowEmulation !== true) {
        throw new ModelportError('capability', 'Azure ML has no asynchronous endpoint', {
          hint: 'set spec.async.allowEmulation: true to run each request as a batch job, or use mode: realtime',
        });
      }
      return asyncResources(dc.settings, source, image);
    }
    if (mode !== 'realtime') {
      throw new ModelportError('capability', `Azure ML has no ${mode} endpoint`, {
        hint: 'use mode: realtime (managed online endpoint) with scaling.minReplicas 1',
      });
    }
    const endpoint = manifest as LoadedEndpoint;
    const resources = onlineResources(endpoint, dc.settings, source, image);
    if (autoscaled(endpoint)) {
      const deployment = resources.find((r) => r.type === RT.onlineDeployment) as DesiredResource;
      const traffic = resources.find((r) => r.type === RT.traffic) as DesiredResource;
      resources.push(autoscaleResource(endpoint, dc.settings, deployment, traffic));
    }
    return resources;
  }

  async observe(manifest: LoadedManifest, ctx: ProviderContext): Promise<ObservedResource[]> {
    const dc = this.context(manifest, ctx);
    if (!isEndpoint(manifest) && !isBatchJob(manifest)) return [];
    const notes: Diagnostic[] = [];
    const batch = isBatchJob(manifest) || endpointMode((manifest as LoadedEndpoint).manifest) === 'async';
    const [models, environments, serving, scaling] = await Promise.all([
      observeModels(dc),
      observeEnvironments(dc),
      batch ? observeBatch(dc, isBatchJob(manifest)) : observeOnline(dc, notes),
      batch ? Promise.resolve([]) : observeAutoscale(dc),
    ]);
    linkAssets(dc, serving, models, environments);
    showNotes(manifest, notes);
    return [...models, ...environments, ...serving, ...scaling];
  }

  async execute(action: PlanAction, manifest: LoadedManifest, ctx: ProviderContext): Promise<void> {
    throwIfCancelled(ctx.signal);
    const dc = this.context(manifest, ctx);
    const remove = action.kind === 'delete' || action.kind === 'replace';
    switch (action.type) {
      case RT.model:
        if (remove) await deleteModel(dc, action.name, action.observed?.properties['modelUri']);
        if (action.kind !== 'delete') await createModel(dc, action);
        return;
      case RT.environment:
        if (remove) await deleteEnvironment(dc, action.name);
        if (action.kind !== 'delete') await createEnvironment(dc, action);
        return;
      case RT.onlineEndpoint:
        if (remove) await deleteEndpoint(dc);
        if (action.kind !== 'delete') await createEndpoint(dc, action);
        return;
      case RT.onlineDeployment:
        if (remove) await deleteDeployment(dc, action.name);
        if (action.kind !== 'delete') await putDeployment(dc, action);
        return;
      case RT.traffic:
        return setTraffic(dc, action);
      case RT.autoscale:
        return action.kind === 'delete' ? deleteAutoscale(dc) : putAutoscale(dc, action);
      // Batch endpoints and deployments are no longer made (BatchJob and async run as command jobs): one
      // left by an earlier version is observed and deleted.
      case RT.batchEndpoint:
        if (remove) await deleteBatchEndpoint(dc);
        return;
      case RT.batchDeployment:
        if (remove) await deleteBatchDeployment(dc, action.name);
        return;
      case RT.batchJob:
        return action.kind === 'delete' ? deleteBatchJob(dc, action) : runBatchJob(dc, action);
      default:
        throw new ModelportError('internal', `the Azure provider has no resource type ${action.type}`);
    }
  }

  async status(manifest: LoadedManifest, ctx: ProviderContext): Promise<DeploymentStatus> {
    const kind = manifest.manifest.kind;
    const name = manifest.manifest.metadata.name;
    const observed = await this.observe(manifest, ctx);
    const base = { kind, name, provider: this.id };
    const resources = observed.map((o) => ({ type: o.type, name: o.name, state: o.state }));
    if (isBatchJob(manifest)) {
      // The run of this manifest's job (its name carries the hash of what it runs), else the latest one.
      const wanted = (await this.desired(manifest, ctx)).find((r) => r.type === RT.batchJob)?.name;
      const jobs = observed.filter((o) => o.type === RT.batchJob);
      const job = jobs.find((o) => o.name === wanted) ?? jobs[jobs.length - 1];
      if (job === undefined) return { ...base, state: DeploymentState.Absent, message: 'not run', resources };
      const raw = job.raw as {
        name?: string;
        properties?: { status?: string; error?: { message?: string } };
      };
      return {
        ...base,
        state: job.state,
        message:
          raw.properties?.error?.message ?? `job ${raw.name ?? job.name}: ${raw.properties?.status ?? '?'}`,
        resources,
        details: { job: raw.name },
      };
    }
    // An async endpoint (emulated) is its model and environment: requests become command jobs.
    const isAsync = isEndpoint(manifest) && endpointMode(manifest.manifest) === 'async';
    const endpoint = isAsync
      ? observed.find((o) => o.type === RT.environment)
      : observed.find((o) => o.type === RT.onlineEndpoint);
    if (endpoint === undefined)
      return { ...base, state: DeploymentState.Absent, message: 'not deployed', resources };
    const raw = endpoint.raw as {
      properties: { provisioningState?: string; scoringUri?: string; traffic?: unknown };
    };
    const failed = observed.some((o) => o.type === RT.onlineDeployment && o.state === DeploymentState.Failed);
    return {
      ...base,
      state: failed && endpoint.state === DeploymentState.Ready ? DeploymentState.Degraded : endpoint.state,
      message: `Azure ML provisioning state ${raw.properties.provisioningState ?? '?'}`,
      ...(raw.properties.scoringUri === undefined ? {} : { url: raw.properties.scoringUri }),
      ...(endpoint.specHash === undefined ? {} : { specHash: endpoint.specHash }),
      resources,
      details: raw.properties.traffic === undefined ? {} : { traffic: raw.properties.traffic },
    };
  }

  async list(options: ListOptions, _ctx: ProviderContext): Promise<DeploymentSummary[]> {
    const ext = (options.extensions?.['azure'] ?? options.extensions ?? {}) as Record<string, unknown>;
    const [sub, rg, ws] = [ext['subscriptionId'], ext['resourceGroup'], ext['workspace']];
    if (typeof sub !== 'string' || typeof rg !== 'string' || typeof ws !== 'string') {
      throw new ModelportError('invalidInput', 'listing Azure deployments needs the workspace', {
        hint: 'pass subscriptionId, resourceGroup and workspace (as in spec.extensions.azure)',
      });
    }
    return listDeployments(this.factory.clients(sub), rg, ws);
  }

  async invoke(
    manifest: LoadedManifest,
    request: InvokeRequest,
    ctx: ProviderContext,
  ): Promise<InvokeResponse> {
    if (!isEndpoint(manifest)) throw new ModelportError('invalidInput', 'only endpoints can be invoked');
    if (endpointMode(manifest.manifest) === 'async') {
      throw new ModelportError(
        'capability',
        `${manifest.manifest.metadata.name} is an async endpoint (batch jobs on Azure)`,
        {
          hint: 'use `modelport invoke --async` and `modelport result <id>`',
        },
      );
    }
    const dc = this.context(manifest, ctx);
    return invokeOnline(dc, manifest, request, dc.clients.http, dc.clients.agent);
  }

  async invokeAsync(
    manifest: LoadedManifest,
    request: AsyncInvokeRequest,
    ctx: ProviderContext,
  ): Promise<AsyncHandle> {
    if (!isEndpoint(manifest) || endpointMode(manifest.manifest) !== 'async') {
      throw new ModelportError('invalidInput', 'only async endpoints take async requests', {
        hint: 'set spec.mode: async and spec.async.allowEmulation: true',
      });
    }
    const dc = this.context(manifest, ctx);
    const desired = await this.desired(manifest, ctx);
    const observed = await this.observe(manifest, ctx);
    const model = desired.find((r) => r.type === RT.model);
    const env = desired.find((r) => r.type === RT.environment);
    const ready = (r: DesiredResource | undefined) =>
      r !== undefined && observed.some((o) => o.type === r.type && o.name === r.name);
    if (model === undefined || env === undefined || !ready(model) || !ready(env)) {
      throw new ModelportError('notFound', `async endpoint ${dc.settings.name} is not deployed`, {
        hint: 'apply the manifest first',
      });
    }
    return invokeAsyncEmulated(dc, request, {
      environmentId: assetId(dc.settings, 'environments', env.name),
      compute: computeIdOf(dc.settings),
      model: String(model.properties['modelUri']),
      // Every record of a request must score: one bad record fails the request.
      environmentVariables: batchEnvironment({ errorThreshold: 0 }),
    });
  }

  async asyncResult(id: string, ctx: ProviderContext): Promise<AsyncResult> {
    return asyncResultEmulated(this.factory.clients(parseAsyncRef(id).sub), id, ctx);
  }

  private context(manifest: LoadedManifest, ctx: ProviderContext): DeploymentContext {
    const settings = settingsOf(manifest);
    return {
      manifest,
      settings,
      clients: this.factory.clients(settings.subscriptionId),
      options: this.options,
      ctx,
    };
  }
}

/** Deployments depend on the model and environment versions they use, so a destroy deletes them first. */
function linkAssets(
  dc: DeploymentContext,
  serving: ObservedResource[],
  models: ObservedResource[],
  environments: ObservedResource[],
): void {
  const byId = new Map<string, string>();
  for (const m of models) byId.set(assetId(dc.settings, 'models', m.name).toLowerCase(), resourceKey(m));
  for (const e of environments)
    byId.set(assetId(dc.settings, 'environments', e.name).toLowerCase(), resourceKey(e));
  for (const d of serving) {
    if (d.type !== RT.onlineDeployment && d.type !== RT.batchDeployment) continue;
    const refs = [d.properties['model'], d.properties['environmentId']]
      .map((id) => (typeof id === 'string' ? byId.get(id.toLowerCase()) : undefined))
      .filter((key): key is string => key !== undefined);
    d.dependsOn = [...(d.dependsOn ?? []), ...refs];
  }
}

/** Plan notes found while observing go with the manifest's warnings, once. */
function showNotes(manifest: LoadedManifest, notes: Diagnostic[]): void {
  const codes = new Set(notes.map((n) => n.code));
  for (let i = manifest.warnings.length - 1; i >= 0; i--) {
    if (codes.has(manifest.warnings[i]?.code ?? '')) manifest.warnings.splice(i, 1);
  }
  manifest.warnings.push(...notes);
}
