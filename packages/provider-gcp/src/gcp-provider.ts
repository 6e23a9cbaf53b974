import type {
  AsyncHandle,
  AsyncInvokeRequest,
  AsyncResult,
  DeploymentStatus,
  DeploymentSummary,
  DesiredResource,
  EndpointProvider,
  InvokeRequest,
  InvokeResponse,
  ListOptions,
  LoadedManifest,
  ObservedResource,
  PlanAction,
  ProviderContext,
} from '@modelport/core';
import {
  DeploymentState,
  ModelportError,
  isBatchJob,
  isEndpoint,
  resourceKey,
  throwIfCancelled,
} from '@modelport/core';
import { inject, injectable } from '@modelport/core/di';
import { deleteFolder, modelArtifact, observeArtifacts, uploadArtifact } from './artifact.js';
import { deleteAsyncJobs, invokeAsyncByBatch, parseAsyncId, readAsyncResult } from './async.js';
import { batchDesired, batchExecute, batchObserve, batchStatus, isBatchType } from './batch-job.js';
import { capabilities } from './capabilities.js';
import type { GcpClientFactory as ClientFactory } from './client-factory.js';
import { sdkLoadTimings } from './client-factory.js';
import type { DeploymentContext } from './deployment-context.js';
import {
  deployModel,
  mutateDeployedModel,
  observeDeployment,
  shiftTraffic,
  undeployByName,
} from './deployment.js';
import {
  createEndpoint,
  deleteEndpoint,
  findEndpoint,
  observedEndpoint,
  updateEndpointLabels,
} from './endpoint.js';
import { endpointResources } from './endpoint-spec.js';
import { predict } from './invoke.js';
import { listDeployments } from './list.js';
import type { GcpProviderOptions as Options } from './options.js';
import { RT } from './resource-types.js';
import { settingsOf } from './settings.js';
import { GcpClientFactory, GcpProviderOptions } from './tokens.js';
import { createModel, deleteModel, observeModels } from './vertex-model.js';

let sdkLoadReported = false;

/**
 * The GCP provider: Vertex AI endpoints (deployed models with dedicated resources, traffic split for
 * blue-green and canary, autoscaling) and batch prediction jobs, over the official gRPC clients. It keeps no
 * state: every resource is labelled, and `observe` finds them again by their labels.
 */
@injectable()
export class GcpProvider implements EndpointProvider {
  readonly id = 'gcp';
  readonly capabilities = capabilities;

  constructor(
    @inject(GcpClientFactory) private readonly factory: ClientFactory,
    @inject(GcpProviderOptions) private readonly options: Options,
  ) {}

  async desired(manifest: LoadedManifest, ctx: ProviderContext): Promise<DesiredResource[]> {
    const dc = await this.context(manifest, ctx);
    if (isEndpoint(manifest)) return endpointResources(manifest, dc.settings);
    if (isBatchJob(manifest)) return batchDesired(dc, manifest);
    return [];
  }

  async observe(manifest: LoadedManifest, ctx: ProviderContext): Promise<ObservedResource[]> {
    const dc = await this.context(manifest, ctx);
    if (isBatchJob(manifest)) return batchObserve(dc);
    if (!isEndpoint(manifest)) return [];
    const [artifacts, models, endpoint] = await Promise.all([
      observeArtifacts(dc),
      observeModels(dc),
      findEndpoint(dc),
    ]);
    // Models depend on their artifact, so a destroy deletes the model first.
    const byUri = new Map(artifacts.map((a) => [a.name, resourceKey(a)]));
    for (const model of models) {
      const artifact = byUri.get(String(model.properties['artifactUri']));
      if (artifact !== undefined) model.dependsOn = [artifact];
    }
    if (endpoint === undefined) return [...artifacts, ...models];
    const deployment = observeDeployment(dc, endpoint);
    const deployedModels = new Set(
      deployment.flatMap((d) => (d.type === RT.deployedModel ? [String(d.properties['model'])] : [])),
    );
    const modelKeys = models.filter((m) => deployedModels.has(m.name)).map(resourceKey);
    return [...artifacts, ...models, observedEndpoint(endpoint, modelKeys), ...deployment];
  }

  async execute(action: PlanAction, manifest: LoadedManifest, ctx: ProviderContext): Promise<void> {
    throwIfCancelled(ctx.signal);
    const dc = await this.context(manifest, ctx);
    const replace = action.kind === 'replace';
    const remove = action.kind === 'delete';
    switch (action.type) {
      case RT.artifact:
        if (remove || replace) await deleteFolder(dc, action.name);
        if (!remove) await uploadArtifact(dc, action, await this.currentArtifact(dc, action));
        return;
      case RT.model:
        // Async requests ran as batch jobs on this model: they go with it.
        if ((remove || replace) && isEndpoint(manifest) && manifest.manifest.spec.mode === 'async') {
          await deleteAsyncJobs(dc, action.name);
        }
        if (remove || replace) await deleteModel(dc, action.name);
        if (!remove) await createModel(dc, action);
        return;
      case RT.endpoint:
        if (action.kind === 'update') return updateEndpointLabels(dc, action);
        if (remove || replace) await deleteEndpoint(dc);
        if (!remove) await createEndpoint(dc, action);
        return;
      case RT.deployedModel:
        if (action.kind === 'update') return mutateDeployedModel(dc, action);
        if (remove || replace) await undeployByName(dc, action.name);
        if (!remove) await deployModel(dc, action);
        return;
      case RT.traffic:
        // The split goes with the endpoint and its deployed models: nothing to delete on its own.
        if (!remove) await shiftTraffic(dc, action);
        return;
      default:
        if (isBatchType(action.type)) return batchExecute(dc, action);
        throw new ModelportError('internal', `the GCP provider has no resource type ${action.type}`);
    }
  }

  async status(manifest: LoadedManifest, ctx: ProviderContext): Promise<DeploymentStatus> {
    const observed = await this.observe(manifest, ctx);
    const base = { kind: manifest.manifest.kind, name: manifest.manifest.metadata.name, provider: this.id };
    const resources = observed.map((o) => ({ type: o.type, name: o.name, state: o.state }));
    if (isBatchJob(manifest)) return { ...base, ...batchStatus(observed), resources };
    const settings = settingsOf(manifest);
    const endpoint = observed.find((o) => o.type === RT.endpoint);
    const traffic = observed.find((o) => o.type === RT.traffic);
    if (endpoint === undefined) {
      const model = observed.find((o) => o.type === RT.model);
      return model === undefined || !isEndpoint(manifest) || manifest.manifest.spec.mode !== 'async'
        ? { ...base, state: DeploymentState.Absent, message: 'not deployed', resources }
        : {
            ...base,
            state: DeploymentState.Ready,
            message: `model ${model.name}: requests run as batch prediction jobs`,
            resources,
          };
    }
    const split = (traffic?.properties['split'] ?? {}) as Record<string, number>;
    const serving = Object.keys(split).length > 0;
    return {
      ...base,
      state: serving ? DeploymentState.Ready : DeploymentState.Degraded,
      message: serving
        ? `traffic: ${Object.entries(split)
            .map(([n, p]) => `${n} ${p}%`)
            .join(', ')}`
        : 'no deployed model receives traffic',
      url: `https://${settings.location}-aiplatform.googleapis.com/v1/projects/${settings.project}/locations/${settings.location}/endpoints/${settings.name}:predict`,
      ...(endpoint.specHash === undefined ? {} : { specHash: endpoint.specHash }),
      resources,
      details: {
        trafficSplit: split,
        deployedModels: observed.filter((o) => o.type === RT.deployedModel).map((o) => o.properties),
      },
    };
  }

  async list(options: ListOptions, ctx: ProviderContext): Promise<DeploymentSummary[]> {
    const project = (options.extensions?.['project'] ?? process.env['GOOGLE_CLOUD_PROJECT']) as
      string | undefined;
    if (options.region === undefined || project === undefined) {
      throw new ModelportError('invalidInput', 'listing GCP deployments needs a region and a project', {
        hint: 'pass the region (e.g. --region us-central1) and the project (extensions project, or GOOGLE_CLOUD_PROJECT)',
      });
    }
    return listDeployments(await this.factory.clients(options.region, project), project, options.region, ctx);
  }

  async invoke(
    manifest: LoadedManifest,
    request: InvokeRequest,
    ctx: ProviderContext,
  ): Promise<InvokeResponse> {
    if (!isEndpoint(manifest)) throw new ModelportError('invalidInput', 'only endpoints can be invoked');
    const dc = await this.context(manifest, ctx);
    return predict(dc.clients, manifest, dc.settings, request);
  }

  async invokeAsync(
    manifest: LoadedManifest,
    request: AsyncInvokeRequest,
    ctx: ProviderContext,
  ): Promise<AsyncHandle> {
    if (!isEndpoint(manifest) || manifest.manifest.spec.mode !== 'async') {
      throw new ModelportError('invalidInput', 'only async endpoints take async requests', {
        hint: 'set spec.mode: async',
      });
    }
    return invokeAsyncByBatch(await this.context(manifest, ctx), request);
  }

  async asyncResult(id: string): Promise<AsyncResult> {
    const { location, project } = parseAsyncId(id);
    return readAsyncResult(await this.factory.clients(location, project), id);
  }

  private async context(manifest: LoadedManifest, ctx: ProviderContext): Promise<DeploymentContext> {
    const settings = settingsOf(manifest);
    const clients = await this.factory.clients(settings.location, settings.project);
    if (!sdkLoadReported && sdkLoadTimings.firstClientsMs !== undefined) {
      // Once per process, at debug level (`modelport -v`): what reaching GCP cost this command.
      sdkLoadReported = true;
      ctx.log(
        'debug',
        `loaded the Google Cloud SDK in ${Math.round(sdkLoadTimings.aiplatformMs ?? 0)} ms and created its clients in ${Math.round(sdkLoadTimings.firstClientsMs)} ms`,
        { ...sdkLoadTimings },
      );
    }
    return { manifest, settings, clients, options: this.options, ctx };
  }

  /** The artifact to upload, computed again from the manifest (it must still be the one planned). */
  private async currentArtifact(dc: DeploymentContext, action: PlanAction) {
    const artifact = await modelArtifact(dc.manifest, dc.settings);
    if (artifact.artifactUri !== action.name) {
      throw new ModelportError(
        'conflict',
        `the model file changed after the plan was made (${action.name})`,
        { hint: 'plan and apply again' },
      );
    }
    return artifact;
  }
}
