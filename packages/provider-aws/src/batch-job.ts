import type {
  DeploymentStatus,
  DesiredResource,
  LoadedBatchJob,
  ObservedResource,
  PlanAction,
} from '@modelport/core';
import { DeploymentState, ModelportError, resourceKey } from '@modelport/core';
import { artifactResource, modelData, observeArtifacts } from './artifact.js';
import { awsBatchDesired, awsBatchExecute, awsBatchObserve, AWS_BATCH_TYPES } from './aws-batch.js';
import { batchInput, deletePrefix, inputResource, observeInputs, uploadInput } from './batch-input.js';
import type { DeploymentContext } from './deployment-context.js';
import { instanceTypeOf } from './endpoint-spec.js';
import { RT } from './resource-types.js';
import { modelResource, observeModels, servingImage } from './sagemaker-model.js';
import {
  observeTransformJobs,
  retireByLogicalName,
  runTransformJob,
  transformResource,
} from './transform-job.js';

const TYPES: ReadonlySet<string> = new Set([RT.transformJob, RT.batchInput, ...AWS_BATCH_TYPES]);

export function isBatchType(type: string): boolean {
  return TYPES.has(type);
}

function engineOf(manifest: LoadedBatchJob): string {
  return manifest.manifest.spec.batch.engine ?? 'sagemaker-transform';
}

/**
 * A BatchJob on AWS: with engine `sagemaker-transform` (default), the artifact, the SageMaker model, the
 * uploaded input (for a local folder) and the transform job; with `aws-batch`, the model's container as an
 * AWS Batch job definition, run now, on a schedule or on new input.
 */
export async function batchDesired(
  dc: DeploymentContext,
  manifest: LoadedBatchJob,
): Promise<DesiredResource[]> {
  if (engineOf(manifest) === 'aws-batch') return awsBatchDesired(dc, manifest);
  if (engineOf(manifest) !== 'sagemaker-transform') {
    throw new ModelportError('capability', `AWS has no batch engine "${engineOf(manifest)}"`, {
      hint: 'use sagemaker-transform or aws-batch',
    });
  }
  const spec = manifest.manifest.spec;
  const data = await modelData(manifest, dc.settings);
  const artifact = artifactResource(data);
  const model = modelResource(
    dc.settings,
    servingImage(spec.model.image, spec.model.format, dc.settings),
    data,
    {
      MODELPORT_MAX_PAYLOAD_MB: String(spec.batch.miniBatchMB ?? 6),
      MODELPORT_TIMEOUT_S: String(spec.limits?.timeoutSeconds ?? 3600),
    },
    artifact === undefined ? undefined : resourceKey(artifact),
  );
  const input = await batchInput(manifest, dc.settings);
  const upload = inputResource(input);
  const job = transformResource(
    manifest,
    dc.settings,
    model.name,
    input.uri,
    instanceTypeOf(manifest, true),
    upload === undefined ? [] : [resourceKey(upload)],
  );
  return [
    ...(artifact === undefined ? [] : [artifact]),
    model,
    ...(upload === undefined ? [] : [upload]),
    job,
  ];
}

export async function batchObserve(dc: DeploymentContext): Promise<ObservedResource[]> {
  const manifest = dc.manifest as LoadedBatchJob;
  const [artifacts, models, inputs, jobs, batch] = await Promise.all([
    observeArtifacts(dc),
    observeModels(dc),
    observeInputs(dc),
    engineOf(manifest) === 'sagemaker-transform' ? observeTransformJobs(dc) : Promise.resolve([]),
    engineOf(manifest) === 'aws-batch' ? awsBatchObserve(dc) : Promise.resolve([]),
  ]);
  const byUri = new Map(artifacts.map((a) => [a.name, resourceKey(a)]));
  for (const model of models) {
    const artifact = byUri.get(String(model.properties['modelDataUrl']));
    if (artifact !== undefined) model.dependsOn = [artifact];
  }
  return [...artifacts, ...models, ...inputs, ...jobs, ...batch];
}

export async function batchExecute(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const manifest = dc.manifest as LoadedBatchJob;
  if (AWS_BATCH_TYPES.includes(action.type)) return awsBatchExecute(dc, action);
  switch (action.type) {
    case RT.batchInput:
      if (action.kind === 'delete') return deletePrefix(dc, action.name);
      return uploadInput(dc, action, await batchInput(manifest, dc.settings));
    case RT.transformJob:
      if (action.kind === 'delete') return retireByLogicalName(dc, action);
      return runTransformJob(dc, action, manifest);
    default:
      throw new ModelportError('internal', `no batch resource type ${action.type}`);
  }
}

/** The deployment's state is its job's (or, for scheduled AWS Batch runs, its schedule's). */
export function batchStatus(
  observed: ObservedResource[],
): Pick<DeploymentStatus, 'state' | 'message' | 'details'> {
  const job = observed.find((o) => o.type === RT.transformJob || o.type === RT.batchJob);
  const trigger = observed.find((o) => o.type === RT.schedule || o.type === RT.rule);
  if (job === undefined && trigger === undefined)
    return { state: DeploymentState.Absent, message: 'not deployed' };
  if (job === undefined)
    return {
      state: DeploymentState.Ready,
      message: `waiting for its ${trigger?.type === RT.schedule ? 'schedule' : 'trigger'}`,
    };
  const raw = job.raw as
    | {
        FailureReason?: string;
        TransformJobStatus?: string;
        TransformJobName?: string;
        statusReason?: string;
        status?: string;
        jobName?: string;
      }
    | undefined;
  return {
    state: job.state,
    message:
      raw?.FailureReason ??
      raw?.statusReason ??
      `${raw?.TransformJobName ?? raw?.jobName ?? job.name}: ${raw?.TransformJobStatus ?? raw?.status ?? job.state}`,
    details: { job: raw?.TransformJobName ?? raw?.jobName, properties: job.properties },
  };
}
