import {
  CreateTransformJobCommand,
  DeleteTagsCommand,
  DescribeTransformJobCommand,
  StopTransformJobCommand,
  paginateListTransformJobs,
} from '@aws-sdk/client-sagemaker';
import type { DescribeTransformJobCommandOutput, TransformJobStatus } from '@aws-sdk/client-sagemaker';
import type { DesiredResource, LoadedBatchJob, ObservedResource, PlanAction } from '@modelport/core';
import {
  DeploymentState,
  ModelportError,
  TAGS,
  mapState,
  resourceKey,
  specHash,
  uriScheme,
} from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { waitUntil } from './deployment-context.js';
import { call } from './errors.js';
import { RT } from './resource-types.js';
import { readTags } from './sagemaker-model.js';
import type { AwsSettings } from './settings.js';
import { isOurs, resourceTags, s3Uri, tagList } from './settings.js';
import { downloadOutputs } from './batch-input.js';
import { isAbsolute, resolve } from 'node:path';

export const TRANSFORM_STATES: Readonly<Record<TransformJobStatus, DeploymentState>> = {
  InProgress: DeploymentState.Running,
  Completed: DeploymentState.Succeeded,
  Failed: DeploymentState.Failed,
  Stopping: DeploymentState.Deleting,
  Stopped: DeploymentState.Stopped,
};

/** SageMaker's limits of a transform request: 100 MB per mini-batch, and across concurrent transforms. */
export const MAX_PAYLOAD_MB = 100;
const DEFAULT_PAYLOAD_MB = 6;

/** A transform job as compared (read back from DescribeTransformJob in the same shape). */
export interface TransformProperties {
  model: string;
  input: string;
  output: string;
  contentType: string;
  splitType: 'Line';
  batchStrategy: 'MultiRecord';
  maxPayloadMB: number;
  maxConcurrentTransforms: number;
  instanceType: string;
  instanceCount: number;
}

/**
 * The transform job of a BatchJob. Jobs cannot be renamed, rerun or deleted, so the resource's name is
 * `<name>-<hash8>` of its properties and each run gets `<name>-<hash8>-<time>`: an unchanged manifest is a
 * no-op once the job ran, and a changed one (or a failed run) starts a new job.
 */
export function transformResource(
  manifest: LoadedBatchJob,
  settings: AwsSettings,
  modelName: string,
  inputUri: string,
  instanceType: string,
  dependsOn: string[],
): DesiredResource {
  const batch = manifest.manifest.spec.batch;
  if (batch.schedule !== undefined || batch.trigger?.onNewInput === true) {
    throw new ModelportError(
      'capability',
      'SageMaker Batch Transform cannot run on a schedule or on new input',
      {
        hint: 'set spec.batch.engine: aws-batch (EventBridge Scheduler and S3 rules start AWS Batch jobs), or remove schedule/trigger',
      },
    );
  }
  const maxPayloadMB = batch.miniBatchMB ?? DEFAULT_PAYLOAD_MB;
  const concurrency = batch.concurrency ?? 1;
  if (maxPayloadMB > MAX_PAYLOAD_MB) {
    throw new ModelportError(
      'invalidInput',
      `miniBatchMB ${maxPayloadMB} is above SageMaker's ${MAX_PAYLOAD_MB} MB (MaxPayloadInMB)`,
      {
        hint: `set spec.batch.miniBatchMB to ${MAX_PAYLOAD_MB} or less`,
      },
    );
  }
  if (maxPayloadMB * concurrency > MAX_PAYLOAD_MB) {
    throw new ModelportError(
      'invalidInput',
      `concurrency ${concurrency} × miniBatchMB ${maxPayloadMB} = ${concurrency * maxPayloadMB} MB, above SageMaker's ${MAX_PAYLOAD_MB} MB (MaxConcurrentTransforms × MaxPayloadInMB)`,
      {
        hint: `lower spec.batch.concurrency or miniBatchMB so that their product is at most ${MAX_PAYLOAD_MB}`,
      },
    );
  }
  const properties: TransformProperties = {
    model: modelName,
    input: inputUri,
    output: outputUri(manifest, settings),
    contentType: (batch.format ?? 'jsonl') === 'csv' ? 'text/csv' : 'application/jsonlines',
    splitType: 'Line',
    batchStrategy: 'MultiRecord',
    maxPayloadMB,
    maxConcurrentTransforms: concurrency,
    instanceType,
    instanceCount: 1,
  };
  const props = properties as unknown as Record<string, unknown>;
  return {
    type: RT.transformJob,
    name: `${settings.name}-${specHash(props).slice(0, 8)}`,
    properties: props,
    immutable: Object.keys(props),
    dependsOn: [resourceKey({ type: RT.model, name: modelName }), ...dependsOn],
  };
}

/** Results go to the manifest's s3:// output, or (for a local folder) to S3 first and are downloaded after. */
function outputUri(manifest: LoadedBatchJob, settings: AwsSettings): string {
  const output = manifest.manifest.spec.batch.output;
  if (uriScheme(output) === 's3') return output.endsWith('/') ? output : `${output}/`;
  return s3Uri(settings.bucket, `${settings.prefix}/${settings.name}/batch-output/`);
}

export function localOutputDir(manifest: LoadedBatchJob): string | undefined {
  const output = manifest.manifest.spec.batch.output;
  if (uriScheme(output) !== 'file') return undefined;
  return isAbsolute(output) ? output : resolve(manifest.baseDir, output);
}

function jobPrefix(name: string): string {
  // room for `-<hash8>-<time in base 36>` within the 63 characters of a job name
  return name.slice(0, 63 - 18);
}

export async function observeTransformJobs(dc: DeploymentContext): Promise<ObservedResource[]> {
  const prefix = jobPrefix(dc.settings.name);
  const pattern = new RegExp(`^${prefix.replace(/-/g, '\\-')}-[0-9a-f]{8}-[0-9a-z]+$`);
  const candidates: string[] = [];
  await call('list transform jobs', async () => {
    for await (const page of paginateListTransformJobs(
      { client: dc.clients.sagemaker },
      { NameContains: prefix },
    )) {
      for (const j of page.TransformJobSummaries ?? []) {
        if (j.TransformJobName !== undefined && pattern.test(j.TransformJobName))
          candidates.push(j.TransformJobName);
      }
    }
  });
  const jobs = await Promise.all(
    candidates.map(async (name) => {
      const described = await call(`describe transform job ${name}`, () =>
        dc.clients.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: name })),
      );
      const tags =
        described.TransformJobArn === undefined ? undefined : await readTags(dc, described.TransformJobArn);
      return tags !== undefined && isOurs(tags, dc.settings) ? { described, tags } : undefined;
    }),
  );
  // The latest run of each logical job stands for it.
  const latest = new Map<
    string,
    { described: DescribeTransformJobCommandOutput; tags: Record<string, string> }
  >();
  for (const job of jobs) {
    if (job === undefined) continue;
    const logical = `${dc.settings.name}-${(job.tags[TAGS.specHash] ?? '').slice(0, 8)}`;
    const seen = latest.get(logical);
    if (
      seen === undefined ||
      (job.described.CreationTime?.getTime() ?? 0) > (seen.described.CreationTime?.getTime() ?? 0)
    ) {
      latest.set(logical, job);
    }
  }
  return [...latest].map(([logical, { described, tags }]) => {
    const properties = transformProperties(described) as unknown as Record<string, unknown>;
    return {
      type: RT.transformJob,
      name: logical,
      properties,
      specHash: tags[TAGS.specHash],
      managed: true,
      state: mapState(TRANSFORM_STATES, described.TransformJobStatus),
      dependsOn: [resourceKey({ type: RT.model, name: String(properties['model']) })],
      raw: described,
    };
  });
}

function transformProperties(d: DescribeTransformJobCommandOutput): TransformProperties {
  return {
    model: d.ModelName ?? '',
    input: d.TransformInput?.DataSource?.S3DataSource?.S3Uri ?? '',
    output: d.TransformOutput?.S3OutputPath ?? '',
    contentType: d.TransformInput?.ContentType ?? '',
    splitType: 'Line',
    batchStrategy: 'MultiRecord',
    maxPayloadMB: d.MaxPayloadInMB ?? 0,
    maxConcurrentTransforms: d.MaxConcurrentTransforms ?? 0,
    instanceType: d.TransformResources?.InstanceType ?? '',
    instanceCount: d.TransformResources?.InstanceCount ?? 0,
  };
}

/** Starts the job, waits for it and reports; a local output folder receives the `.out` files. */
export async function runTransformJob(
  dc: DeploymentContext,
  action: PlanAction,
  manifest: LoadedBatchJob,
): Promise<void> {
  if (action.kind === 'replace' && action.observed?.raw !== undefined)
    await retireJob(dc, action.observed.raw as DescribeTransformJobCommandOutput);
  const p = action.desired?.properties as unknown as TransformProperties;
  const jobName = `${jobPrefix(action.name.slice(0, -9))}-${action.name.slice(-8)}-${Date.now().toString(36)}`;
  await call(`create transform job ${jobName}`, () =>
    dc.clients.sagemaker.send(
      new CreateTransformJobCommand({
        TransformJobName: jobName,
        ModelName: p.model,
        MaxConcurrentTransforms: p.maxConcurrentTransforms,
        MaxPayloadInMB: p.maxPayloadMB,
        BatchStrategy: p.batchStrategy,
        TransformInput: {
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: p.input } },
          ContentType: p.contentType,
          SplitType: p.splitType,
        },
        TransformOutput: {
          S3OutputPath: p.output,
          // The format's own type: the image answers JSON Lines with JSON Lines and CSV with CSV (audit A2).
          Accept: p.contentType,
          AssembleWith: 'Line',
          ...(dc.settings.kmsKeyId === undefined ? {} : { KmsKeyId: dc.settings.kmsKeyId }),
        },
        TransformResources: { InstanceType: p.instanceType as never, InstanceCount: p.instanceCount },
        Tags: tagList(resourceTags(dc.settings, action.specHash)),
      }),
    ),
  );
  const done = await waitUntil(
    dc,
    `transform job ${jobName}`,
    () =>
      call(`describe transform job ${jobName}`, () =>
        dc.clients.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: jobName })),
      ),
    (d) => d.TransformJobStatus ?? '?',
    (d) => d.TransformJobStatus !== 'InProgress' && d.TransformJobStatus !== 'Stopping',
  );
  if (done.TransformJobStatus !== 'Completed') {
    throw new ModelportError(
      'unavailable',
      `transform job ${jobName} ${done.TransformJobStatus?.toLowerCase() ?? 'ended'}: ${done.FailureReason ?? 'no reason given'}`,
      {
        retryable: false,
        hint: 'fix the cause and apply again (a new job is started); the job log is in CloudWatch under /aws/sagemaker/TransformJobs',
        details: { job: jobName, failureReason: done.FailureReason },
      },
    );
  }
  const local = localOutputDir(manifest);
  if (local !== undefined) {
    const files = await downloadOutputs(dc, p.output, local);
    dc.ctx.progress(`transform job ${jobName} completed; ${files.length} file(s) in ${local}`);
  } else dc.ctx.progress(`transform job ${jobName} completed; results in ${p.output}`);
}

/**
 * Transform jobs cannot be deleted: "deleting" one stops it if it runs and removes modelport's tags, so it
 * is no longer part of the deployment (SageMaker keeps the record).
 */
export async function retireJob(
  dc: DeploymentContext,
  described: DescribeTransformJobCommandOutput,
): Promise<void> {
  const name = described.TransformJobName ?? '';
  if (described.TransformJobStatus === 'InProgress') {
    await call(`stop transform job ${name}`, () =>
      dc.clients.sagemaker.send(new StopTransformJobCommand({ TransformJobName: name })),
    );
  }
  if (described.TransformJobArn === undefined) return;
  await call(`untag transform job ${name}`, () =>
    dc.clients.sagemaker.send(
      new DeleteTagsCommand({ ResourceArn: described.TransformJobArn, TagKeys: Object.values(TAGS) }),
    ),
  );
}

export async function retireByLogicalName(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const raw = action.observed?.raw as DescribeTransformJobCommandOutput | undefined;
  if (raw !== undefined) {
    await retireJob(dc, raw);
    return;
  }
  // A rollback knows only the logical name: find the run again.
  for (const observed of await observeTransformJobs(dc)) {
    if (observed.name === action.name) await retireJob(dc, observed.raw as DescribeTransformJobCommandOutput);
  }
}
