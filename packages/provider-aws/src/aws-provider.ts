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
import { deleteAlarm, observeAlarm, putAlarm } from './alarm.js';
import { deleteArtifact, modelData, observeArtifacts, uploadArtifact } from './artifact.js';
import {
  deleteScalableTarget,
  deleteScalingPolicy,
  observeScaling,
  putScalableTarget,
  putScalingPolicy,
} from './autoscaling.js';
import { batchDesired, batchExecute, batchObserve, batchStatus, isBatchType } from './batch-job.js';
import { capabilities } from './capabilities.js';
import type { AwsClientFactory as ClientFactory } from './client-factory.js';
import type { DeploymentContext } from './deployment-context.js';
import { createEndpointConfig, deleteEndpointConfig, observeEndpointConfigs } from './endpoint-config.js';
import { deploymentConfig, endpointResources } from './endpoint-spec.js';
import { createEndpoint, deleteEndpoint, observeEndpoint, updateEndpoint } from './endpoint.js';
import { invokeEndpoint, invokeEndpointAsync, parseAsyncId, readAsyncResult } from './invoke.js';
import { listDeployments } from './list.js';
import type { AwsProviderOptions as Options } from './options.js';
import { RT } from './resource-types.js';
import { createModel, deleteModel, observeModels } from './sagemaker-model.js';
import { settingsOf } from './settings.js';
import { AwsClientFactory, AwsProviderOptions } from './tokens.js';

/**
 * The AWS provider: SageMaker real-time, serverless and async endpoints (with Application Auto Scaling),
 * Batch Transform and AWS Batch jobs, over the official SDK v3 clients. It keeps no state: every resource
 * is tagged, and `observe` finds them again through List/Describe calls and their tags.
 */
@injectable()
export class AwsProvider implements EndpointProvider {
  readonly id = 'aws';
  readonly capabilities = capabilities;

  constructor(
    @inject(AwsClientFactory) private readonly factory: ClientFactory,
    @inject(AwsProviderOptions) private readonly options: Options,
  ) {}

  async desired(manifest: LoadedManifest, ctx: ProviderContext): Promise<DesiredResource[]> {
    const dc = this.context(manifest, ctx);
    if (isEndpoint(manifest)) return endpointResources(manifest, dc.settings);
    if (isBatchJob(manifest)) return batchDesired(dc, manifest);
    return [];
  }

  async observe(manifest: LoadedManifest, ctx: ProviderContext): Promise<ObservedResource[]> {
    const dc = this.context(manifest, ctx);
    if (isBatchJob(manifest)) return batchObserve(dc);
    if (!isEndpoint(manifest)) return [];
    const notes: Diagnostic[] = [];
    const [artifacts, models, configs, endpoint, scaling, alarm] = await Promise.all([
      observeArtifacts(dc),
      observeModels(dc),
      observeEndpointConfigs(dc),
      observeEndpoint(dc, notes),
      observeScaling(dc),
      observeAlarm(dc),
    ]);
    linkArtifacts(models, artifacts);
    showNotes(manifest, notes);
    return [...artifacts, ...models, ...configs, ...endpoint, ...scaling, ...alarm];
  }

  async execute(action: PlanAction, manifest: LoadedManifest, ctx: ProviderContext): Promise<void> {
    throwIfCancelled(ctx.signal);
    const dc = this.context(manifest, ctx);
    if (isBatchType(action.type)) return batchExecute(dc, action);
    const replace = action.kind === 'replace';
    switch (action.type) {
      case RT.artifact:
        if (action.kind === 'delete') return deleteArtifact(dc, action.name);
        return uploadArtifact(dc, action, await this.currentModelData(dc, action));
      case RT.model:
        if (action.kind === 'delete' || replace) await deleteModel(dc, action.name);
        if (action.kind !== 'delete') await createModel(dc, action);
        return;
      case RT.endpointConfig:
        if (action.kind === 'delete' || replace) await deleteEndpointConfig(dc, action.name);
        if (action.kind !== 'delete') await createEndpointConfig(dc, action);
        return;
      case RT.endpoint:
        if (action.kind === 'update' && isEndpoint(manifest)) {
          return updateEndpoint(dc, action, deploymentConfig(manifest, dc.settings));
        }
        if (action.kind === 'delete' || replace) await deleteEndpoint(dc, action.name);
        if (action.kind !== 'delete') await createEndpoint(dc, action);
        return;
      case RT.scalableTarget:
        return action.kind === 'delete'
          ? deleteScalableTarget(dc, action.name)
          : putScalableTarget(dc, action);
      case RT.scalingPolicy:
        return action.kind === 'delete' ? deleteScalingPolicy(dc, action.name) : putScalingPolicy(dc, action);
      case RT.alarm:
        return action.kind === 'delete' ? deleteAlarm(dc, action.name) : putAlarm(dc, action);
      default:
        throw new ModelportError('internal', `the AWS provider has no resource type ${action.type}`);
    }
  }

  async status(manifest: LoadedManifest, ctx: ProviderContext): Promise<DeploymentStatus> {
    const kind = manifest.manifest.kind;
    const name = manifest.manifest.metadata.name;
    const observed = await this.observe(manifest, ctx);
    const base = { kind, name, provider: this.id };
    const resources = observed.map((o) => ({ type: o.type, name: o.name, state: o.state }));
    if (isBatchJob(manifest)) return { ...base, ...batchStatus(observed), resources };
    const endpoint = observed.find((o) => o.type === RT.endpoint);
    if (endpoint === undefined) {
      return { ...base, state: DeploymentState.Absent, message: 'not deployed', resources };
    }
    const raw = endpoint.raw as {
      FailureReason?: string;
      EndpointStatus?: string;
      ProductionVariants?: unknown;
    };
    const region = this.context(manifest, ctx).settings.region;
    return {
      ...base,
      state: endpoint.state,
      message:
        raw.FailureReason === undefined ? `SageMaker status ${raw.EndpointStatus ?? '?'}` : raw.FailureReason,
      url: `https://runtime.sagemaker.${region}.amazonaws.com/endpoints/${name}/invocations`,
      ...(endpoint.specHash === undefined ? {} : { specHash: endpoint.specHash }),
      resources,
      details: {
        endpointConfig: endpoint.properties['config'],
        sagemakerStatus: raw.EndpointStatus,
        ...(raw.ProductionVariants === undefined ? {} : { variants: raw.ProductionVariants }),
      },
    };
  }

  async list(options: ListOptions, ctx: ProviderContext): Promise<DeploymentSummary[]> {
    if (options.region === undefined) {
      throw new ModelportError('invalidInput', 'listing AWS deployments needs a region', {
        hint: 'pass the region (e.g. --region us-east-1); modelport never picks a region for you',
      });
    }
    return listDeployments(this.factory.clients(options.region), options.region, ctx);
  }

  async invoke(
    manifest: LoadedManifest,
    request: InvokeRequest,
    ctx: ProviderContext,
  ): Promise<InvokeResponse> {
    if (!isEndpoint(manifest)) throw new ModelportError('invalidInput', 'only endpoints can be invoked');
    return invokeEndpoint(this.context(manifest, ctx).clients, manifest, request);
  }

  async invokeAsync(
    manifest: LoadedManifest,
    request: AsyncInvokeRequest,
    ctx: ProviderContext,
  ): Promise<AsyncHandle> {
    if (!isEndpoint(manifest)) throw new ModelportError('invalidInput', 'only endpoints can be invoked');
    const dc = this.context(manifest, ctx);
    return invokeEndpointAsync(dc.clients, this.options, manifest, dc.settings, request);
  }

  async asyncResult(id: string): Promise<AsyncResult> {
    const { region, output, failure } = parseAsyncId(id);
    return readAsyncResult(this.factory.clients(region), id, output, failure);
  }

  private context(manifest: LoadedManifest, ctx: ProviderContext): DeploymentContext {
    const settings = settingsOf(manifest);
    return { manifest, settings, clients: this.factory.clients(settings.region), options: this.options, ctx };
  }

  /** The artifact to upload, computed again from the manifest (it must still be the one planned). */
  private async currentModelData(dc: DeploymentContext, action: PlanAction) {
    const data = await modelData(dc.manifest, dc.settings);
    if (data.modelDataUrl !== action.name) {
      throw new ModelportError(
        'conflict',
        `the model file changed after the plan was made (${action.name})`,
        {
          hint: 'plan and apply again',
        },
      );
    }
    return data;
  }
}

/** Models depend on the artifact they were made from, so a destroy deletes the model first. */
function linkArtifacts(models: ObservedResource[], artifacts: ObservedResource[]): void {
  const byUri = new Map(artifacts.map((a) => [a.name, resourceKey(a)]));
  for (const model of models) {
    const artifact = byUri.get(String(model.properties['modelDataUrl']));
    if (artifact !== undefined) model.dependsOn = [artifact];
  }
}

/** Plan notes found while observing (a failed last update) go with the manifest's warnings, once. */
function showNotes(manifest: LoadedManifest, notes: Diagnostic[]): void {
  const codes = new Set(notes.map((n) => n.code));
  for (let i = manifest.warnings.length - 1; i >= 0; i--) {
    if (codes.has(manifest.warnings[i]?.code ?? '')) manifest.warnings.splice(i, 1);
  }
  manifest.warnings.push(...notes);
}
