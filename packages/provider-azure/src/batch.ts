import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { BatchDeployment, JobBase } from '@azure/arm-machinelearning';
import type { DesiredResource, LoadedManifest, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, mapState, resourceKey, specHash, uriScheme } from '@modelport/core';
import { assetId, environmentResource, modelMountEnv, modelResource } from './assets.js';
import type { ModelSource } from './assets.js';
import { datastoreContainer, deletePrefix } from './datastore.js';
import type { DeploymentContext } from './deployment-context.js';
import { lro, sleep } from './deployment-context.js';
import { call, getOrUndefined, listAll, mapAzureError } from './errors.js';
import { withAgent } from './invoke.js';
import { PROVISIONING_STATES } from './online.js';
import { RT } from './resource-types.js';
import type { AzureSettings } from './settings.js';
import { AZURE_TAGS, DATASTORE_PREFIX, datastoreUri, isOurs, resourceTags } from './settings.js';

/** Azure ML job states → the neutral status. */
export const JOB_STATES: Readonly<Record<string, DeploymentState>> = {
  NotStarted: DeploymentState.Pending,
  Starting: DeploymentState.Pending,
  Provisioning: DeploymentState.Pending,
  Preparing: DeploymentState.Pending,
  Queued: DeploymentState.Pending,
  Running: DeploymentState.Running,
  Finalizing: DeploymentState.Running,
  CancelRequested: DeploymentState.Deleting,
  Completed: DeploymentState.Succeeded,
  Failed: DeploymentState.Failed,
  Canceled: DeploymentState.Stopped,
  NotResponding: DeploymentState.Failed,
  Paused: DeploymentState.Stopped,
  Unknown: DeploymentState.Unknown,
};

/** Tag naming the modelport job resource a run belongs to (job names are the service's). */
export const JOB_TAG = 'modelport.dev.job';
export const OUTPUT_FILE = 'predictions.jsonl';

export interface BatchDeploymentProperties {
  model: string;
  environmentId: string;
  compute: string;
  miniBatchSize: number;
  maxConcurrencyPerInstance: number;
  errorThreshold: number;
  maxRetries: number;
  instanceCount: number;
  environmentVariables: Record<string, string>;
}

export interface JobProperties {
  deployment: string;
  input: string;
  output: string;
}

interface BatchSpec {
  input?: string;
  output?: string;
  format?: 'jsonl' | 'csv';
  miniBatchSize?: number;
  concurrency?: number;
  maxRetries?: number;
  errorThreshold?: number;
  schedule?: string;
  trigger?: { onNewInput?: boolean };
  engine?: string;
}

/**
 * Model, environment, batch endpoint and a deployment named from its hash, shared by BatchJob (which adds
 * the job) and by async endpoints emulated through batch jobs (one job per request).
 */
export function batchInfrastructure(
  s: AzureSettings,
  source: ModelSource,
  image: string,
  batch: BatchSpec,
): DesiredResource[] {
  if (s.computeCluster === undefined) {
    throw new ModelportError(
      'invalidInput',
      'Azure ML batch deployments need spec.extensions.azure.computeCluster',
      {
        hint: 'name an AmlCompute cluster of the workspace (e.g. cpu-cluster)',
      },
    );
  }
  const model = modelResource(s, source);
  const env = environmentResource(s, image);
  const endpoint: DesiredResource = {
    type: RT.batchEndpoint,
    name: s.name,
    properties: { authMode: 'AADToken', location: s.location },
    immutable: ['authMode', 'location'],
  };
  const compute = s.computeCluster.startsWith('/')
    ? s.computeCluster
    : `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${s.workspace}/computes/${s.computeCluster}`;
  const properties: BatchDeploymentProperties = {
    model: assetId(s, 'models', model.name),
    environmentId: assetId(s, 'environments', env.name),
    compute,
    miniBatchSize: batch.miniBatchSize ?? 10,
    maxConcurrencyPerInstance: batch.concurrency ?? 1,
    errorThreshold: batch.errorThreshold ?? -1,
    maxRetries: batch.maxRetries ?? 3,
    instanceCount: 1,
    environmentVariables: {
      ...modelMountEnv(model.name, source),
      MODELPORT_BATCH_SIZE: String(batch.miniBatchSize ?? 1024),
    },
  };
  const props = properties as unknown as Record<string, unknown>;
  const deployment: DesiredResource = {
    type: RT.batchDeployment,
    name: `${s.name}/d${specHash(props).slice(0, 8)}`,
    properties: props,
    immutable: Object.keys(props),
    dependsOn: [resourceKey(endpoint), resourceKey(model), resourceKey(env)],
  };
  return [model, env, endpoint, deployment];
}

/** A BatchJob: the infrastructure plus the job, named from the hash of what it runs (re-run when it changes). */
export function batchJobResources(
  manifest: LoadedManifest,
  s: AzureSettings,
  source: ModelSource,
  image: string,
): DesiredResource[] {
  const batch = (manifest.manifest.spec as { batch: BatchSpec }).batch;
  if (batch.schedule !== undefined || batch.trigger?.onNewInput === true) {
    throw new ModelportError(
      'capability',
      'Azure ML batch endpoints are invoked, not scheduled, by modelport',
      {
        hint: 'remove spec.batch.schedule/trigger and apply from your scheduler (CI, cron)',
      },
    );
  }
  if (batch.engine !== undefined && batch.engine !== 'batch-endpoint') {
    throw new ModelportError('capability', `Azure has no batch engine "${batch.engine}"`, {
      hint: 'use batch-endpoint',
    });
  }
  const infra = batchInfrastructure(s, source, image, batch);
  const deployment = infra[infra.length - 1] as DesiredResource;
  const properties: JobProperties = {
    deployment: deployment.name.split('/')[1] ?? '',
    input: dataLocation(manifest, batch.input ?? ''),
    output: dataLocation(manifest, batch.output ?? ''),
  };
  const props = properties as unknown as Record<string, unknown>;
  const job: DesiredResource = {
    type: RT.batchJob,
    name: `${s.name}-${specHash(props).slice(0, 8)}`,
    properties: props,
    immutable: Object.keys(props),
    dependsOn: [resourceKey(deployment)],
  };
  return [...infra, job];
}

/** A local folder as an absolute path; azureml:// as is. */
function dataLocation(manifest: LoadedManifest, location: string): string {
  const scheme = uriScheme(location);
  if (scheme === 'azureml') return location;
  if (scheme !== 'file') {
    throw new ModelportError(
      'capability',
      `Azure ML batch jobs cannot read or write ${scheme}:// locations`,
      {
        hint: 'use a local folder (uploaded to / downloaded from the workspace datastore) or azureml://',
      },
    );
  }
  const path = location.replace(/^file:\/\//, '');
  return isAbsolute(path) ? path : resolve(manifest.file, '..', path);
}

export async function observeBatch(dc: DeploymentContext, withJobs: boolean): Promise<ObservedResource[]> {
  const s = dc.settings;
  const [endpoint, jobs] = await Promise.all([
    getOrUndefined(`read batch endpoint ${s.name}`, () =>
      dc.clients.ml.batchEndpoints.get(s.resourceGroup, s.workspace, s.name),
    ),
    withJobs ? observeJobs(dc) : Promise.resolve([]),
  ]);
  if (endpoint === undefined) return jobs;
  const endpointKey = resourceKey({ type: RT.batchEndpoint, name: s.name });
  const observed: ObservedResource[] = [
    {
      type: RT.batchEndpoint,
      name: s.name,
      properties: { authMode: endpoint.properties.authMode, location: endpoint.location },
      specHash: endpoint.tags?.[AZURE_TAGS.specHash],
      managed: isOurs(endpoint.tags, s),
      state: mapState(PROVISIONING_STATES, endpoint.properties.provisioningState),
      raw: endpoint,
    },
  ];
  const deployments = await listAll(`list deployments of batch endpoint ${s.name}`, () =>
    dc.clients.ml.batchDeployments.list(s.resourceGroup, s.workspace, s.name),
  );
  for (const d of deployments) {
    if (!isOurs(d.tags, s)) continue;
    const p = d.properties;
    observed.push({
      type: RT.batchDeployment,
      name: `${s.name}/${d.name ?? ''}`,
      properties: {
        model: (p.model as { assetId?: string } | undefined)?.assetId,
        environmentId: p.environmentId,
        compute: p.compute,
        miniBatchSize: p.miniBatchSize,
        maxConcurrencyPerInstance: p.maxConcurrencyPerInstance,
        errorThreshold: p.errorThreshold,
        maxRetries: p.retrySettings?.maxRetries,
        instanceCount: p.resources?.instanceCount,
        environmentVariables: p.environmentVariables ?? {},
      },
      specHash: d.tags?.[AZURE_TAGS.specHash],
      managed: true,
      state: mapState(PROVISIONING_STATES, p.provisioningState),
      dependsOn: [endpointKey],
      raw: d,
    });
  }
  return [...observed, ...jobs];
}

/** Jobs of this BatchJob: by tags, one resource per logical job (its latest run). */
async function observeJobs(dc: DeploymentContext): Promise<ObservedResource[]> {
  const s = dc.settings;
  const jobs = await listAll('list jobs', () => dc.clients.ml.jobs.list(s.resourceGroup, s.workspace));
  const latest = new Map<string, JobBase>();
  for (const job of jobs) {
    const tags = job.properties.tags ?? {};
    const logical = tags[JOB_TAG];
    if (logical === undefined || logical === null || !isOurs(tags, s)) continue;
    latest.set(logical, job);
  }
  return [...latest.entries()].map(([logical, job]) => {
    const tags = job.properties.tags ?? {};
    return {
      type: RT.batchJob,
      name: logical,
      // Job runs cannot be read back field by field: the spec hash (and the name's hash) say what ran.
      properties: {},
      specHash: tags[AZURE_TAGS.specHash] ?? undefined,
      managed: true,
      state: mapState(JOB_STATES, job.properties.status),
      dependsOn: [],
      raw: job,
    };
  });
}

export async function createBatchEndpoint(dc: DeploymentContext, action: PlanAction): Promise<void> {
  try {
    await putBatchEndpoint(dc, action);
  } catch (error) {
    // A batch endpoint this action created that ended Failed is removed: nothing is left half-made.
    if (action.kind === 'create' && ModelportError.is(error) && !error.retryable) {
      await deleteBatchEndpoint(dc).catch(() => undefined);
    }
    throw error;
  }
}

async function putBatchEndpoint(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  await call(`create batch endpoint ${s.name}`, () =>
    dc.clients.ml.batchEndpoints.beginCreateOrUpdateAndWait(
      s.resourceGroup,
      s.workspace,
      s.name,
      {
        location: s.location,
        tags: resourceTags(s, action.specHash),
        properties: { authMode: 'AADToken', description: `modelport ${s.kind} ${s.name}` },
      },
      lro(dc),
    ),
  );
}

export async function deleteBatchEndpoint(dc: DeploymentContext): Promise<void> {
  const s = dc.settings;
  await getOrUndefined(`delete batch endpoint ${s.name}`, () =>
    dc.clients.ml.batchEndpoints.beginDeleteAndWait(s.resourceGroup, s.workspace, s.name, lro(dc)),
  );
}

export async function putBatchDeployment(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const name = action.name.split('/')[1] ?? '';
  const p = action.desired?.properties as unknown as BatchDeploymentProperties;
  const body: BatchDeployment = {
    location: s.location,
    tags: resourceTags(s, action.specHash),
    properties: {
      model: { referenceType: 'Id', assetId: p.model } as NonNullable<BatchDeployment['properties']['model']>,
      environmentId: p.environmentId,
      compute: p.compute,
      miniBatchSize: p.miniBatchSize,
      maxConcurrencyPerInstance: p.maxConcurrencyPerInstance,
      errorThreshold: p.errorThreshold,
      retrySettings: { maxRetries: p.maxRetries, timeout: 'PT30S' },
      resources: { instanceCount: p.instanceCount },
      outputAction: 'AppendRow',
      outputFileName: OUTPUT_FILE,
      loggingLevel: 'Info',
      environmentVariables: p.environmentVariables,
    },
  };
  try {
    await dc.clients.ml.batchDeployments.beginCreateOrUpdateAndWait(
      s.resourceGroup,
      s.workspace,
      s.name,
      name,
      body,
      lro(dc),
    );
  } catch (error) {
    const created = action.kind === 'create';
    if (created) await deleteBatchDeployment(dc, action.name).catch(() => undefined);
    throw mapAzureError(error, `batch deployment ${name} of ${s.name}`);
  }
}

export async function deleteBatchDeployment(dc: DeploymentContext, name: string): Promise<void> {
  const s = dc.settings;
  const deployment = name.split('/')[1] ?? '';
  await getOrUndefined(`delete batch deployment ${deployment} of ${s.name}`, () =>
    dc.clients.ml.batchDeployments.beginDeleteAndWait(
      s.resourceGroup,
      s.workspace,
      s.name,
      deployment,
      lro(dc),
    ),
  );
}

/** Where a run keeps its data in the datastore. */
function runPrefix(s: AzureSettings, run: string): string {
  return `${DATASTORE_PREFIX}/${s.name}/${run}`;
}

/**
 * Runs the job: uploads a local input folder to the datastore, invokes the batch endpoint (an Azure ML
 * job with the deployment's mini-batch size, retries and error threshold), waits for it, and downloads the
 * output file into a local output folder. A failed job is reported (and replaced on the next apply).
 */
export async function runBatchJob(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const p = action.desired?.properties as unknown as JobProperties;
  if (action.kind === 'replace') await deleteBatchJob(dc, action);
  const blobs = await datastoreContainer(dc.clients, s);
  const prefix = runPrefix(s, action.name);
  let inputUri = p.input;
  if (uriScheme(p.input) === 'file') {
    const files = await listFiles(p.input);
    if (files.length === 0) {
      throw new ModelportError('invalidInput', `the batch input folder ${p.input} has no files`, {
        hint: 'check spec.batch.input',
      });
    }
    dc.ctx.progress(`uploading ${files.length} input file(s)`);
    await call('upload the batch input', () =>
      Promise.all(
        files.map((file) =>
          blobs
            .getBlockBlobClient(
              `${prefix}/input/${(relative(p.input, file) || basename(file)).split('\\').join('/')}`,
            )
            .uploadFile(file),
        ),
      ),
    );
    inputUri = datastoreUri(s, `${prefix}/input/`);
  }
  const outputUri = uriScheme(p.output) === 'azureml' ? p.output : datastoreUri(s, `${prefix}/output/`);
  const job = await invokeBatchEndpoint(dc, p.deployment, inputUri, outputUri, {
    ...resourceTags(s, action.specHash),
    [JOB_TAG]: action.name,
  });
  dc.ctx.progress(`job ${job}: running`);
  const final = await waitForJob(dc, job);
  if (final.properties.status !== 'Completed') {
    const reason =
      (final.properties as { error?: { message?: string } }).error?.message ?? final.properties.status;
    throw new ModelportError(
      'unavailable',
      `batch job ${job} of ${s.name} ended ${final.properties.status ?? '?'}: ${reason ?? ''}`,
      {
        retryable: false,
        hint: 'see the job in Azure ML studio; apply again to rerun it',
      },
    );
  }
  if (uriScheme(p.output) === 'file') {
    await mkdir(p.output, { recursive: true });
    const names: string[] = [];
    for await (const blob of blobs.listBlobsFlat({ prefix: `${prefix}/output/` })) names.push(blob.name);
    for (const name of names) {
      const data = await call('download the batch output', () =>
        blobs.getBlobClient(name).downloadToBuffer(),
      );
      await writeFile(join(p.output, name.slice(`${prefix}/output/`.length)), data);
    }
  }
}

/** Starts a job on the batch endpoint's data plane (its scoring URI, with an Azure AD token). */
export async function invokeBatchEndpoint(
  dc: DeploymentContext,
  deployment: string,
  inputUri: string,
  outputUri: string,
  tags: Record<string, string>,
): Promise<string> {
  const s = dc.settings;
  const endpoint = await call(`read batch endpoint ${s.name}`, () =>
    dc.clients.ml.batchEndpoints.get(s.resourceGroup, s.workspace, s.name),
  );
  const scoringUri = endpoint.properties.scoringUri;
  if (scoringUri === undefined)
    throw new ModelportError('unavailable', `batch endpoint ${s.name} has no scoring URI yet`);
  const token = await call('get a token for Azure ML', () =>
    dc.clients.credential.getToken('https://ml.azure.com/.default'),
  );
  const { createPipelineRequest, createHttpHeaders } = await import('@azure/core-rest-pipeline');
  const request = withAgent(
    createPipelineRequest({
      url: scoringUri,
      method: 'POST',
      headers: createHttpHeaders({
        authorization: `Bearer ${token?.token ?? ''}`,
        'content-type': 'application/json',
        'azureml-model-deployment': deployment,
      }),
      body: JSON.stringify({
        properties: {
          InputData: { input_data: { JobInputType: 'UriFolder', Uri: inputUri } },
          OutputData: { score: { JobOutputType: 'UriFolder', Uri: outputUri } },
        },
        tags,
      }),
      abortSignal: dc.ctx.signal,
    }),
    dc.clients.agent,
  );
  const response = await call(`invoke batch endpoint ${s.name}`, () => dc.clients.http.sendRequest(request));
  if (response.status >= 300) {
    throw new ModelportError(
      response.status === 429 ? 'throttled' : response.status >= 500 ? 'unavailable' : 'invalidInput',
      `invoking batch endpoint ${s.name} answered ${response.status}: ${response.bodyAsText ?? ''}`,
    );
  }
  return (JSON.parse(response.bodyAsText ?? '{}') as { name?: string }).name ?? '';
}

export async function waitForJob(dc: DeploymentContext, name: string): Promise<JobBase> {
  const s = dc.settings;
  const deadline = Date.now() + dc.options.waitTimeoutMs;
  for (;;) {
    const job = await call(`read job ${name}`, () =>
      dc.clients.ml.jobs.get(s.resourceGroup, s.workspace, name),
    );
    const state = mapState(JOB_STATES, job.properties.status);
    if (
      state === DeploymentState.Succeeded ||
      state === DeploymentState.Failed ||
      state === DeploymentState.Stopped
    ) {
      return job;
    }
    if (Date.now() > deadline) {
      throw new ModelportError(
        'timeout',
        `batch job ${name} still ${job.properties.status ?? '?'} after ${dc.options.waitTimeoutMs / 1000} s`,
        {
          hint: 'raise MODELPORT_AZURE_WAIT_TIMEOUT_S, or check the job in Azure ML studio',
        },
      );
    }
    await sleep(dc.options.pollIntervalMs, dc.ctx.signal);
  }
}

/** Deletes the job records of a logical job and the data modelport wrote for them. */
export async function deleteBatchJob(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const s = dc.settings;
  const jobs = await listAll('list jobs', () => dc.clients.ml.jobs.list(s.resourceGroup, s.workspace));
  for (const job of jobs) {
    const tags = job.properties.tags ?? {};
    if (tags[JOB_TAG] !== action.name || !isOurs(tags, s) || job.name === undefined) continue;
    const jobName = job.name;
    await getOrUndefined(`delete job ${jobName}`, () =>
      dc.clients.ml.jobs.beginDeleteAndWait(s.resourceGroup, s.workspace, jobName, lro(dc)),
    );
  }
  const blobs = await datastoreContainer(dc.clients, s);
  await call('delete the batch data', () => deletePrefix(blobs, `${runPrefix(s, action.name)}/`));
}

async function listFiles(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) {
    throw new ModelportError('invalidInput', `the batch input ${dir} does not exist`, {
      hint: 'check spec.batch.input',
    });
  }
  if (info.isFile()) return [dir];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
