import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { JobBase } from '@azure/arm-machinelearning';
import type { DesiredResource, LoadedManifest, ObservedResource, PlanAction } from '@modelport/core';
import { DeploymentState, ModelportError, mapState, resourceKey, specHash, uriScheme } from '@modelport/core';
import { assetId, environmentResource, modelResource } from './assets.js';
import type { ModelSource } from './assets.js';
import { datastoreContainer, deletePrefix } from './datastore.js';
import type { DeploymentContext } from './deployment-context.js';
import { lro, sleep } from './deployment-context.js';
import { call, getOrUndefined, listAll } from './errors.js';
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
/** The ARM api-version of the SDK's clients. */
const API_VERSION = '2022-10-01';

/**
 * How the portable serving image runs a batch (its documented `run batch` mode: every input file through the
 * model, `<file>.out` and `<file>.errors.jsonl` in the output folder, exit 0 or 1). The command replaces the
 * image's entrypoint: Azure ML executes a command job's `command` in the environment's image
 * (https://learn.microsoft.com/azure/machine-learning/reference-yaml-job-command), with `${{inputs.x}}` and
 * `${{outputs.y}}` replaced by the mounted paths.
 */
export const BATCH_COMMAND =
  '/opt/modelport/bin/node /opt/modelport/run.mjs batch --model ${{inputs.model}} --input ${{inputs.data}} --output ${{outputs.predictions}}';

/** A BatchJob or async request as an Azure ML command job (what is compared, and what the run is made of). */
export interface JobProperties {
  environmentId: string;
  compute: string;
  /** The model file in the datastore (a uri_file input). */
  model: string;
  input: string;
  output: string;
  /** MODELPORT_BATCH_SIZE (records per model call), MODELPORT_BATCH_MAX_FAILED (bad records), MODELPORT_BATCH_FORMAT. */
  environmentVariables: Record<string, string>;
  /** Runs of the job after a failed one (the image resumes: finished files are skipped). */
  maxRetries: number;
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

/** ARM id of the compute cluster the jobs run on. */
export function computeIdOf(s: AzureSettings): string {
  if (s.computeCluster === undefined) {
    throw new ModelportError(
      'invalidInput',
      'Azure ML batch jobs need spec.extensions.azure.computeCluster',
      {
        hint: 'name an AmlCompute cluster of the workspace (e.g. cpu-cluster)',
      },
    );
  }
  return s.computeCluster.startsWith('/')
    ? s.computeCluster
    : `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${s.workspace}/computes/${s.computeCluster}`;
}

/**
 * The image's batch settings: records per model call and bad records tolerated mean what the manifest says
 * (records, not Azure batch deployments' files per mini-batch).
 */
export function batchEnvironment(batch: BatchSpec): Record<string, string> {
  const threshold = batch.errorThreshold ?? -1;
  return {
    MODELPORT_BATCH_SIZE: String(batch.miniBatchSize ?? 1024),
    // -1: never fail on bad records.
    MODELPORT_BATCH_MAX_FAILED: String(threshold < 0 ? 2147483647 : threshold),
    ...(batch.format === undefined ? {} : { MODELPORT_BATCH_FORMAT: batch.format }),
  };
}

/**
 * What async endpoints (emulated) need before a request: the model version (its file in the datastore)
 * and the environment; each request is then a command job (async-emulation.ts).
 */
export function asyncResources(s: AzureSettings, source: ModelSource, image: string): DesiredResource[] {
  computeIdOf(s);
  return [modelResource(s, source), environmentResource(s, image)];
}

/**
 * A BatchJob: the model version (uploaded file), the environment (the serving image), and the job, a
 * command job that runs the image's batch mode over the input folder, named from the hash of what it runs
 * (re-run when that changes). No batch endpoint: Azure ML batch deployments of a custom model need a Python
 * scoring script and an environment with azureml-core (how-to-use-batch-model-deployments), which the
 * Node serving image is not.
 */
export function batchJobResources(
  manifest: LoadedManifest,
  s: AzureSettings,
  source: ModelSource,
  image: string,
): DesiredResource[] {
  const batch = (manifest.manifest.spec as { batch: BatchSpec }).batch;
  if (batch.schedule !== undefined || batch.trigger?.onNewInput === true) {
    throw new ModelportError('capability', 'Azure ML batch jobs are run, not scheduled, by modelport', {
      hint: 'remove spec.batch.schedule/trigger and apply from your scheduler (CI, cron)',
    });
  }
  if (batch.engine !== undefined && batch.engine !== 'command-job') {
    throw new ModelportError('capability', `Azure has no batch engine "${batch.engine}"`, {
      hint: 'use command-job (an Azure ML command job running the serving image)',
    });
  }
  const model = modelResource(s, source);
  const env = environmentResource(s, image);
  const properties: JobProperties = {
    environmentId: assetId(s, 'environments', env.name),
    compute: computeIdOf(s),
    model: String(model.properties['modelUri']),
    input: dataLocation(manifest, batch.input ?? ''),
    output: dataLocation(manifest, batch.output ?? ''),
    environmentVariables: batchEnvironment(batch),
    maxRetries: batch.maxRetries ?? 0,
  };
  const props = properties as unknown as Record<string, unknown>;
  const job: DesiredResource = {
    type: RT.batchJob,
    name: `${s.name}-${specHash(props).slice(0, 8)}`,
    properties: props,
    immutable: Object.keys(props),
    dependsOn: [resourceKey(model), resourceKey(env)],
  };
  return [model, env, job];
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

export async function deleteBatchEndpoint(dc: DeploymentContext): Promise<void> {
  const s = dc.settings;
  await getOrUndefined(`delete batch endpoint ${s.name}`, () =>
    dc.clients.ml.batchEndpoints.beginDeleteAndWait(s.resourceGroup, s.workspace, s.name, lro(dc)),
  );
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
 * Runs the job: uploads a local input folder to the datastore, submits the command job (retried as a new
 * run, up to maxRetries, when one fails: the image skips the files a failed run finished), waits for it,
 * and downloads the output folder into a local output folder. A failed job is reported (and replaced on
 * the next apply).
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
  const tags = { ...resourceTags(s, action.specHash), [JOB_TAG]: action.name };
  let final: JobBase | undefined;
  for (let attempt = 0; attempt <= p.maxRetries; attempt++) {
    const job = await submitCommandJob(dc, p, inputUri, outputUri, tags, `${action.name}-${runSuffix()}`);
    dc.ctx.progress(`job ${job}: running${attempt > 0 ? ` (retry ${attempt})` : ''}`);
    final = await waitForJob(dc, job);
    if (final.properties.status === 'Completed') break;
  }
  if (final?.properties.status !== 'Completed') {
    const reason =
      (final?.properties as { error?: { message?: string } } | undefined)?.error?.message ??
      final?.properties.status;
    throw new ModelportError(
      'unavailable',
      `batch job ${final?.name ?? action.name} of ${s.name} ended ${final?.properties.status ?? '?'}: ${reason ?? ''}`,
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
      const relativeName = name.slice(`${prefix}/output/`.length);
      // The image's done markers stay in the datastore.
      if (relativeName.startsWith('.modelport/')) continue;
      const data = await call('download the batch output', () =>
        blobs.getBlobClient(name).downloadToBuffer(),
      );
      await mkdir(join(p.output, relativeName, '..'), { recursive: true });
      await writeFile(join(p.output, relativeName), data);
    }
  }
}

function runSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Submits a command job (api-version 2022-10-01 `CommandJob`): the serving image's batch mode over the input
 * folder (`uri_folder`, mounted read-only), with the model file as a `uri_file` input and the output
 * folder mounted read-write; tags in `properties.tags`, where jobs keep them. Returns the job's name.
 */
export async function submitCommandJob(
  dc: DeploymentContext,
  p: Pick<JobProperties, 'environmentId' | 'compute' | 'model' | 'environmentVariables'>,
  inputUri: string,
  outputUri: string,
  tags: Record<string, string>,
  name: string,
): Promise<string> {
  const s = dc.settings;
  const body: JobBase = {
    properties: {
      jobType: 'Command',
      displayName: name,
      experimentName: s.name,
      description: `modelport ${s.kind} ${s.name}: the serving image's batch mode`,
      tags,
      computeId: p.compute,
      environmentId: p.environmentId,
      command: BATCH_COMMAND,
      environmentVariables: p.environmentVariables,
      inputs: {
        model: { jobInputType: 'uri_file', uri: p.model, mode: 'ReadOnlyMount' },
        data: { jobInputType: 'uri_folder', uri: inputUri, mode: 'ReadOnlyMount' },
      },
      outputs: {
        predictions: { jobOutputType: 'uri_folder', uri: outputUri, mode: 'ReadWriteMount' },
      },
    } as JobBase['properties'],
  };
  // Sent as JSON through the client's pipeline (auth, retries, TLS), not jobs.createOrUpdate: the SDK's
  // serializer (@azure/arm-machinelearning 2.1.1) registers UriFileJobInput/UriFolderJobInput under
  // `AssetJobInput.*`, not `JobInput.*`, so it drops `uri` and `mode` from every job input.
  const { createHttpHeaders, createPipelineRequest } = await import('@azure/core-rest-pipeline');
  const url = `${dc.clients.armEndpoint}/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${s.workspace}/jobs/${encodeURIComponent(name)}?api-version=${API_VERSION}`;
  const response = await call(`submit job ${name}`, () =>
    dc.clients.ml.sendRequest(
      createPipelineRequest({
        url,
        method: 'PUT',
        headers: createHttpHeaders({ 'content-type': 'application/json', accept: 'application/json' }),
        body: JSON.stringify(body),
        abortSignal: dc.ctx.signal,
      }),
    ),
  );
  if (response.status >= 300) {
    const error = (JSON.parse(response.bodyAsText ?? '{}') as { error?: { code?: string; message?: string } })
      .error;
    throw new ModelportError(
      response.status === 429 ? 'throttled' : response.status >= 500 ? 'unavailable' : 'invalidInput',
      `submit job ${name}: ${error?.code ?? response.status}: ${error?.message ?? response.bodyAsText ?? ''}`,
      { retryable: response.status === 429 || response.status >= 500 },
    );
  }
  const created = JSON.parse(response.bodyAsText ?? '{}') as { name?: string };
  return created.name ?? name;
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
