import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type {
  DeploymentStatus,
  DesiredResource,
  LoadedBatchJob,
  ObservedResource,
  PlanAction,
} from '@modelport/core';
import {
  DeploymentState,
  hashedInputFiles,
  ModelportError,
  TAGS,
  mapState,
  resourceKey,
  specHash,
  uriScheme,
} from '@modelport/core';
import {
  artifactResource,
  deleteFolder,
  listFolder,
  modelArtifact,
  observeArtifacts,
  observeFolders,
  uploadArtifact,
  uploadFile,
} from './artifact.js';
import type { DeploymentContext } from './deployment-context.js';
import { inInputOrder, readJobInputs, readJobOutput } from './batch-output.js';
import { machineSpec } from './deployment.js';
import type { BatchPredictionJob } from './vertex-types.js';
import { longRunning, waitUntil } from './deployment-context.js';
import { machineOf } from './endpoint-spec.js';
import { call, isNotFound } from './errors.js';
import { decodeLabels, isOurs, labelFilter, ownTags } from './labels.js';
import { warnIgnoredFields } from './notes.js';
import { RT } from './resource-types.js';
import { modelContainer } from './serving.js';
import type { GcpSettings } from './settings.js';
import { gsUri, idOf, parentOf, parseGsUri, resourceLabels } from './settings.js';
import {
  createModel,
  deleteModel,
  hashedName,
  hashedNamePattern,
  modelName,
  modelResource,
  observeModels,
} from './vertex-model.js';

/** Vertex job states → the neutral states (one table, as libcloud's NODE_STATE_MAP). */
export const JOB_STATES: Readonly<Record<string, DeploymentState>> = {
  JOB_STATE_QUEUED: DeploymentState.Pending,
  JOB_STATE_PENDING: DeploymentState.Pending,
  JOB_STATE_RUNNING: DeploymentState.Running,
  JOB_STATE_UPDATING: DeploymentState.Running,
  JOB_STATE_SUCCEEDED: DeploymentState.Succeeded,
  JOB_STATE_PARTIALLY_SUCCEEDED: DeploymentState.Degraded,
  JOB_STATE_FAILED: DeploymentState.Failed,
  JOB_STATE_CANCELLING: DeploymentState.Deleting,
  JOB_STATE_CANCELLED: DeploymentState.Stopped,
  JOB_STATE_PAUSED: DeploymentState.Stopped,
  JOB_STATE_EXPIRED: DeploymentState.Failed,
};
const ACTIVE = new Set([
  'JOB_STATE_QUEUED',
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_UPDATING',
]);
/** Vertex's default batch size for custom containers. */
export const DEFAULT_BATCH_SIZE = 64;

/** A batch prediction job as compared (read back from the job in the same shape). */
export interface BatchJobProperties {
  model: string;
  inputUris: string[];
  format: 'jsonl' | 'csv';
  outputPrefix: string;
  machineType: string;
  accelerator?: { type: string; count: number };
  replicas: number;
  batchSize: number;
}

interface BatchInput {
  uris: string[];
  folder?: string;
  upload?: { dir: string; files: string[] };
}

export function isBatchType(type: string): boolean {
  return type === RT.batchJob || type === RT.batchInput;
}

function formatOf(manifest: LoadedBatchJob): 'jsonl' | 'csv' {
  return manifest.manifest.spec.batch.format ?? 'jsonl';
}

/** Where the job reads: gs:// as given (a file, or a folder's files of the format), or a local folder modelport uploads. */
async function batchInput(manifest: LoadedBatchJob, settings: GcpSettings): Promise<BatchInput> {
  const input = manifest.manifest.spec.batch.input;
  const format = formatOf(manifest);
  if (uriScheme(input) === 'gs') {
    return {
      uris: [
        /\.(jsonl|csv)$/.test(input) || input.includes('*')
          ? input
          : `${input.replace(/\/+$/, '')}/*.${format}`,
      ],
    };
  }
  if (uriScheme(input) !== 'file') {
    throw new ModelportError(
      'invalidInput',
      `Vertex AI batch prediction reads from GCS or a local folder, not ${input}`,
    );
  }
  const dir = isAbsolute(input) ? input : resolve(manifest.baseDir, input);
  const hashes = await hashedInputFiles(dir);
  const files = hashes.map((h) => h.name);
  const folder = gsUri(settings.bucket, `${inputPrefix(settings)}${specHash(hashes)}`);
  return { uris: files.map((f) => `${folder}/${f}`), folder, upload: { dir, files } };
}

function inputPrefix(settings: GcpSettings): string {
  return `${settings.prefix}/${settings.name}/batch-input/`;
}

function outputPrefix(manifest: LoadedBatchJob, settings: GcpSettings): string {
  const output = manifest.manifest.spec.batch.output;
  if (uriScheme(output) === 'gs') return output.replace(/\/+$/, '');
  return gsUri(settings.bucket, `${settings.prefix}/${settings.name}/batch-output`);
}

function localOutputDir(manifest: LoadedBatchJob): string | undefined {
  const output = manifest.manifest.spec.batch.output;
  if (uriScheme(output) !== 'file') return undefined;
  return isAbsolute(output) ? output : resolve(manifest.baseDir, output);
}

/** A BatchJob on Vertex AI: the artifact, the model, the uploaded input (for a local folder) and the job. */
export async function batchDesired(
  dc: DeploymentContext,
  manifest: LoadedBatchJob,
): Promise<DesiredResource[]> {
  const spec = manifest.manifest.spec;
  const batch = spec.batch;
  if (batch.engine !== undefined && batch.engine !== 'vertex-batch-prediction') {
    throw new ModelportError('capability', `GCP has no batch engine "${batch.engine}"`, {
      hint: 'use vertex-batch-prediction',
    });
  }
  if (batch.schedule !== undefined || batch.trigger?.onNewInput === true) {
    throw new ModelportError(
      'capability',
      'Vertex AI batch prediction cannot run on a schedule or on new input',
      {
        hint: 'remove spec.batch.schedule / trigger and start runs with `modelport apply` (e.g. from Cloud Scheduler)',
      },
    );
  }
  warnIgnoredFields(manifest, ['spec', 'batch'], batch, {
    errorThreshold:
      'batch prediction has no error threshold (failed instances are reported in prediction.errors_stats-* and <file>.errors.jsonl)',
    maxRetries: 'batch prediction has no retry count',
  });
  const artifact = await modelArtifact(manifest, dc.settings);
  const artifactRes = artifactResource(artifact);
  const machine = machineOf(manifest);
  const model = modelResource(
    dc.settings,
    modelContainer(
      spec.model.format,
      spec.model.image,
      artifact,
      dc.settings,
      {
        MODELPORT_MAX_PAYLOAD_MB: String(batch.miniBatchMB ?? 100),
        MODELPORT_TIMEOUT_S: String(spec.limits?.timeoutSeconds ?? 3600),
      },
      machine.accelerator !== undefined,
    ),
    artifactRes === undefined ? undefined : resourceKey(artifactRes),
  );
  const input = await batchInput(manifest, dc.settings);
  const upload: DesiredResource | undefined =
    input.folder === undefined
      ? undefined
      : { type: RT.batchInput, name: input.folder, properties: { uri: input.folder }, immutable: ['uri'] };
  const properties: BatchJobProperties = {
    model: model.name,
    inputUris: input.uris,
    format: formatOf(manifest),
    outputPrefix: outputPrefix(manifest, dc.settings),
    ...machine,
    replicas: Math.max(1, batch.concurrency ?? 1),
    batchSize: batch.miniBatchSize ?? DEFAULT_BATCH_SIZE,
  };
  const props = properties as unknown as Record<string, unknown>;
  const job: DesiredResource = {
    type: RT.batchJob,
    name: hashedName(dc.settings.name, props),
    properties: props,
    immutable: Object.keys(props),
    dependsOn: [resourceKey(model), ...(upload === undefined ? [] : [resourceKey(upload)])],
  };
  return [
    ...(artifactRes === undefined ? [] : [artifactRes]),
    model,
    ...(upload === undefined ? [] : [upload]),
    job,
  ];
}

type Job = BatchPredictionJob;

function jobProperties(job: Job): BatchJobProperties {
  const machine = job.dedicatedResources?.machineSpec ?? {};
  const accelerator = typeof machine.acceleratorType === 'string' ? machine.acceleratorType : undefined;
  return {
    model: idOf(job.model ?? ''),
    inputUris: job.inputConfig?.gcsSource?.uris ?? [],
    format: (job.inputConfig?.instancesFormat ?? 'jsonl') as 'jsonl' | 'csv',
    outputPrefix: job.outputConfig?.gcsDestination?.outputUriPrefix ?? '',
    machineType: machine.machineType ?? '',
    ...(accelerator !== undefined && accelerator !== 'ACCELERATOR_TYPE_UNSPECIFIED'
      ? { accelerator: { type: accelerator, count: machine.acceleratorCount ?? 0 } }
      : {}),
    replicas: job.dedicatedResources?.maxReplicaCount ?? 1,
    batchSize: job.manualBatchTuningParameters?.batchSize ?? DEFAULT_BATCH_SIZE,
  };
}

/** The latest run of each logical job (display name `<name>-<hash8>`), found by labels. */
export async function observeJobs(dc: DeploymentContext): Promise<ObservedResource[]> {
  const jobs = await listOwnJobs(dc);
  const pattern = hashedNamePattern(dc.settings.name);
  const latest = new Map<string, Job>();
  for (const job of jobs) {
    const name = job.displayName ?? '';
    if (!pattern.test(name) || !isOurs(decodeLabels(job.labels as Record<string, string>), dc.settings))
      continue;
    const seen = latest.get(name);
    if (seen === undefined || Number(job.createTime?.seconds ?? 0) >= Number(seen.createTime?.seconds ?? 0))
      latest.set(name, job);
  }
  return [...latest].map(([name, job]) => {
    const properties = jobProperties(job) as unknown as Record<string, unknown>;
    return {
      type: RT.batchJob,
      name,
      properties,
      specHash: decodeLabels(job.labels as Record<string, string>)[TAGS.specHash],
      managed: true,
      state: mapState(JOB_STATES, String(job.state ?? '')),
      dependsOn: [resourceKey({ type: RT.model, name: String(properties['model']) })],
      raw: job,
    };
  });
}

export async function batchObserve(dc: DeploymentContext): Promise<ObservedResource[]> {
  const [artifacts, models, inputs, jobs] = await Promise.all([
    observeArtifacts(dc),
    observeModels(dc),
    observeFolders(dc, inputPrefix(dc.settings), RT.batchInput),
    observeJobs(dc),
  ]);
  return [...artifacts, ...models, ...inputs, ...jobs];
}

export async function batchExecute(dc: DeploymentContext, action: PlanAction): Promise<void> {
  const manifest = dc.manifest as LoadedBatchJob;
  if (action.type === RT.batchInput) {
    if (action.kind === 'delete' || action.kind === 'replace') await deleteFolder(dc, action.name);
    if (action.kind === 'delete') return;
    const input = await batchInput(manifest, dc.settings);
    if (input.upload === undefined) return;
    for (const file of input.upload.files) {
      dc.ctx.progress(`uploading ${file} to ${action.name}`);
      await uploadFile(
        dc,
        join(input.upload.dir, file),
        dc.settings.bucket,
        `${parseGsUri(action.name).key}/${file}`,
        ownTags(dc.settings, action.specHash),
        formatOf(manifest) === 'csv' ? 'text/csv' : 'application/jsonl',
      );
    }
    return;
  }
  if (action.kind === 'delete' || action.kind === 'replace') await deleteJobs(dc, action.name);
  if (action.kind !== 'delete') await runJob(dc, action, manifest);
}

/** Starts the job and waits for it; a local output folder receives the prediction files. */
async function runJob(dc: DeploymentContext, action: PlanAction, manifest: LoadedBatchJob): Promise<void> {
  const job = await createJob(
    dc,
    action.name,
    action.desired?.properties as unknown as BatchJobProperties,
    resourceLabels(dc.settings, action.specHash),
  );
  const done = await waitJob(dc, job.name ?? '');
  const state = String(done.state);
  if (state !== 'JOB_STATE_SUCCEEDED' && state !== 'JOB_STATE_PARTIALLY_SUCCEEDED') {
    throw new ModelportError(
      'unavailable',
      `batch prediction job ${action.name} ${state.replace('JOB_STATE_', '').toLowerCase()}: ${done.error?.message ?? 'no reason given'}`,
      {
        retryable: false,
        hint: "fix the cause and apply again (a new job is started); the job's logs are in Cloud Logging",
        details: { job: done.name, error: done.error?.message },
      },
    );
  }
  const stats = done.completionStats;
  const where = done.outputInfo?.gcsOutputDirectory ?? '';
  const failedCount = Number(stats?.failedCount ?? 0);
  const local = localOutputDir(manifest);
  if (local !== undefined && where !== '') {
    const written = await download(dc, where, local);
    const ordered = await writeInInputOrder(dc, done, where, local);
    const failed = Math.max(ordered.failed, failedCount);
    dc.ctx.progress(
      `batch prediction ${action.name}: ${String(stats?.successfulCount ?? 0)} predicted, ${failed} failed; ${ordered.files.length} result file(s) in input order (<input>.out) and ${written.length} job output file(s) in ${local}`,
    );
    if (failed > 0) warnFailed(dc, action.name, failed, ordered.firstError ?? '', local);
  } else {
    dc.ctx.progress(
      `batch prediction ${action.name}: ${String(stats?.successfulCount ?? 0)} predicted, ${failedCount} failed; results in ${where} (prediction.results-*, in no particular order)`,
    );
    if (failedCount > 0 || state === 'JOB_STATE_PARTIALLY_SUCCEEDED') {
      const output = await readJobOutput(dc.clients, where);
      warnFailed(dc, action.name, failedCount, output.errors[0] ?? state, where);
    }
  }
}

function warnFailed(dc: DeploymentContext, job: string, failed: number, error: string, where: string): void {
  dc.ctx.log('warn', `batch prediction ${job}: ${failed} instance(s) failed: ${error}`, {
    failed,
    error,
    errors: where,
  });
}

/**
 * Writes, per input file, `<file>.out` (one prediction per line, in input order, as the local batch runner
 * writes) and, when some failed, `<file>.errors.jsonl` ({"line", "error"}), from every results file of the
 * job matched back to the job's input.
 */
async function writeInInputOrder(
  dc: DeploymentContext,
  job: Job,
  where: string,
  localDir: string,
): Promise<{ files: string[]; failed: number; firstError?: string }> {
  const output = await readJobOutput(dc.clients, where);
  const inputs = await readJobInputs(
    dc.clients,
    job.inputConfig?.gcsSource?.uris ?? [],
    job.inputConfig?.instancesFormat ?? 'jsonl',
  );
  const files: string[] = [];
  let failed = 0;
  let firstError: string | undefined;
  for (const file of inInputOrder(inputs, output)) {
    const out = join(localDir, `${file.input.name}.out`);
    await writeFile(
      out,
      file.predictions
        .filter((p) => p !== undefined)
        .map((p) => `${JSON.stringify(p)}\n`)
        .join(''),
    );
    files.push(out);
    if (file.failed.length > 0) {
      failed += file.failed.length;
      firstError ??= file.failed[0]?.error;
      await writeFile(
        join(localDir, `${file.input.name}.errors.jsonl`),
        file.failed.map((f) => `${JSON.stringify(f)}\n`).join(''),
      );
    }
  }
  return { files, failed, ...(firstError === undefined ? {} : { firstError }) };
}

export async function createJob(
  dc: DeploymentContext,
  displayName: string,
  p: BatchJobProperties,
  labels: Record<string, string>,
): Promise<Job> {
  const [job] = await call(`create batch prediction job ${displayName}`, () =>
    dc.clients.jobs.createBatchPredictionJob({
      parent: parentOf(dc.settings),
      batchPredictionJob: {
        displayName,
        model: modelName(dc.settings, p.model),
        inputConfig: { instancesFormat: p.format, gcsSource: { uris: p.inputUris } },
        outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: p.outputPrefix } },
        dedicatedResources: {
          machineSpec: machineSpec(p),
          startingReplicaCount: p.replicas,
          maxReplicaCount: p.replicas,
        },
        manualBatchTuningParameters: { batchSize: p.batchSize },
        ...(dc.settings.serviceAccount === undefined ? {} : { serviceAccount: dc.settings.serviceAccount }),
        labels,
      },
    }),
  );
  return job;
}

export function waitJob(dc: DeploymentContext, name: string): Promise<Job> {
  return waitUntil(
    dc,
    `batch prediction job ${idOf(name)}`,
    async () =>
      (
        await call(
          `get batch prediction job ${name}`,
          () => dc.clients.jobs.getBatchPredictionJob({ name }),
          true,
        )
      )[0],
    (j) => String(j.state ?? '?'),
    (j) => !ACTIVE.has(String(j.state ?? '')),
  );
}

/** Cancels (when running) and deletes every run of a logical job. */
async function deleteJobs(dc: DeploymentContext, displayName: string): Promise<void> {
  const jobs = await listOwnJobs(dc);
  for (const job of jobs.filter((j) => j.displayName === displayName)) {
    await cancelAndDeleteJob(dc, job.name ?? '', ACTIVE.has(String(job.state ?? '')));
  }
}

/** The deployment's batch prediction jobs, found by their labels. */
async function listOwnJobs(dc: DeploymentContext): Promise<Job[]> {
  const [jobs] = await call(
    'list batch prediction jobs',
    () =>
      dc.clients.jobs.listBatchPredictionJobs({
        parent: parentOf(dc.settings),
        filter: labelFilter(dc.settings),
      }),
    true,
  );
  return jobs;
}

/** Cancels a job when `active` (waiting until it has ended), then deletes it (one already gone is fine). */
export async function cancelAndDeleteJob(
  dc: DeploymentContext,
  name: string,
  active: boolean,
): Promise<void> {
  if (active) {
    await call(`cancel batch prediction job ${name}`, () =>
      dc.clients.jobs.cancelBatchPredictionJob({ name }),
    );
    await waitJob(dc, name);
  }
  try {
    await longRunning(dc, `delete batch prediction job ${name}`, () =>
      dc.clients.jobs.deleteBatchPredictionJob({ name }, dc.clients.lro),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Downloads a job's output folder into a local folder as it is (prediction.results-*, prediction.errors_stats-*). */
async function download(dc: DeploymentContext, uri: string, localDir: string): Promise<string[]> {
  const { bucket, prefix, files } = await listFolder(dc, uri);
  const written: string[] = [];
  for (const file of files) {
    const target = join(localDir, file.name.slice(prefix.length));
    await mkdir(dirname(target), { recursive: true });
    const [data] = await call(`download gs://${bucket}/${file.name}`, () => file.download(), true);
    await writeFile(target, data);
    written.push(target);
  }
  return written;
}

/** The deployment's state is its job's. */
export function batchStatus(
  observed: ObservedResource[],
): Pick<DeploymentStatus, 'state' | 'message' | 'details'> {
  // The latest run stands for the deployment (an older one stays until a successful apply replaces it).
  const created = (o: ObservedResource) =>
    Number((o.raw as Job | undefined)?.createTime?.seconds ?? 0) * 1e9 +
    ((o.raw as Job | undefined)?.createTime?.nanos ?? 0);
  const job = observed.filter((o) => o.type === RT.batchJob).sort((a, b) => created(b) - created(a))[0];
  if (job === undefined) return { state: DeploymentState.Absent, message: 'not deployed' };
  const raw = job.raw as Job;
  return {
    state: job.state,
    message: raw.error?.message || `${job.name}: ${String(raw.state ?? job.state)}`,
    details: {
      job: raw.name,
      output: raw.outputInfo?.gcsOutputDirectory,
      successful: raw.completionStats?.successfulCount,
      failed: raw.completionStats?.failedCount,
    },
  };
}

export { createModel, deleteModel, uploadArtifact };
