import { randomUUID } from 'node:crypto';
import type { AsyncHandle, AsyncInvokeRequest, AsyncResult, LoadedEndpoint } from '@modelport/core';
import { ModelportError, TAGS } from '@modelport/core';
import { DEFAULT_BATCH_SIZE, cancelAndDeleteJob, createJob } from './batch-job.js';
import type { GcpClients } from './client-factory.js';
import type { DeploymentContext } from './deployment-context.js';
import { machineOf } from './endpoint-spec.js';
import { call } from './errors.js';
import { inInputOrder, readJobInputs, readJobOutput } from './batch-output.js';
import { encodeLabels } from './labels.js';
import { parsePredictBody } from './invoke.js';
import { gsUri, parentOf } from './settings.js';
import { observeModels } from './vertex-model.js';

const MIB = 1024 * 1024;

/**
 * Async requests on Vertex AI, emulated (the manifest allowed it with spec.async.allowEmulation): the
 * request's instances are written to GCS as JSON lines and a batch prediction job runs them with the
 * deployment's model. The id names project, location and job, so `modelport result <id>` needs nothing else.
 */
export async function invokeAsyncByBatch(
  dc: DeploymentContext,
  request: AsyncInvokeRequest,
): Promise<AsyncHandle> {
  const manifest = dc.manifest as LoadedEndpoint;
  const asyncSpec = manifest.manifest.spec.async ?? {};
  if (asyncSpec.allowEmulation !== true) {
    throw new ModelportError('capability', 'Vertex AI has no asynchronous endpoints', {
      hint: 'set spec.async.allowEmulation: true to run each request as a batch prediction job',
    });
  }
  const limit = (asyncSpec.maxPayloadMB ?? 1024) * MIB;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body instanceof Uint8Array ? [request.body] : request.body) {
    size += chunk.byteLength;
    if (size > limit)
      throw new ModelportError(
        'invalidInput',
        `the payload is above ${limit / MIB} MB (spec.async.maxPayloadMB)`,
      );
    chunks.push(chunk);
  }
  const { instances } = parsePredictBody(Buffer.concat(chunks));
  const models = await observeModels(dc);
  const model = models.sort((a, b) =>
    String((b.raw as { createTime?: { seconds?: unknown } }).createTime?.seconds ?? 0).localeCompare(
      String((a.raw as { createTime?: { seconds?: unknown } }).createTime?.seconds ?? 0),
    ),
  )[0];
  if (model === undefined) {
    throw new ModelportError('notFound', `${dc.settings.name} is not deployed on Vertex AI`, {
      hint: 'run `modelport apply` first',
    });
  }
  const id = randomUUID();
  const base = `${dc.settings.prefix}/${dc.settings.name}`;
  const inputKey = `${base}/async-input/${id}.jsonl`;
  await call(`upload the async request to gs://${dc.settings.bucket}/${inputKey}`, () =>
    dc.clients.storage
      .bucket(dc.settings.bucket)
      .file(inputKey)
      .save(Buffer.from(instances.map((i) => `${JSON.stringify(i)}\n`).join('')), {
        resumable: false,
        contentType: 'application/jsonl',
      }),
  );
  const output =
    manifest.manifest.spec.async?.outputLocation?.replace(/\/+$/, '') ??
    gsUri(dc.settings.bucket, `${base}/async-output`);
  const job = await createJob(
    dc,
    `${dc.settings.name}-async-${id.slice(0, 8)}`,
    {
      model: model.name,
      inputUris: [gsUri(dc.settings.bucket, inputKey)],
      format: 'jsonl',
      outputPrefix: `${output}/${id}`,
      ...machineOf(manifest),
      replicas: 1,
      batchSize: DEFAULT_BATCH_SIZE,
    },
    // Labelled as modelport's, but not as the deployment's: async runs are requests, not part of its plan.
    encodeLabels({ [TAGS.managedBy]: 'modelport', 'modelport.dev/async-of': dc.settings.name }),
  );
  const jobId = (job.name ?? '').split('/').pop() ?? '';
  return {
    id: `gcp/${dc.settings.name}/${dc.settings.project}~${dc.settings.location}~${jobId}`,
    outputLocation: `${output}/${id}`,
  };
}

export function parseAsyncId(id: string): { name: string; project: string; location: string; job: string } {
  const match = /^gcp\/([^/]+)\/([^~/]+)~([^~/]+)~(\d+)$/.exec(id);
  if (match === null) {
    throw new ModelportError('invalidInput', `"${id}" is not a GCP async request id`, {
      hint: 'pass the id `modelport invoke --async` printed',
    });
  }
  return {
    name: match[1] as string,
    project: match[2] as string,
    location: match[3] as string,
    job: match[4] as string,
  };
}

const STATES: Record<string, AsyncResult['state']> = {
  JOB_STATE_QUEUED: 'queued',
  JOB_STATE_PENDING: 'queued',
  JOB_STATE_PAUSED: 'queued',
  JOB_STATE_RUNNING: 'running',
  JOB_STATE_UPDATING: 'running',
  JOB_STATE_CANCELLING: 'running',
  JOB_STATE_SUCCEEDED: 'succeeded',
  // Some results may be missing: read, and failed unless every instance has its prediction.
  JOB_STATE_PARTIALLY_SUCCEEDED: 'succeeded',
};

/**
 * The job's state; once it finished, its predictions as `{"predictions": [...]}` (what predict answers), in
 * the order of the request's instances: every `prediction.results-*` file is read and each result is
 * matched to its instance (Vertex keeps no order). A request with any failed instance is failed, with the
 * job's error lines, as predict would fail it.
 */
export async function readAsyncResult(clients: GcpClients, id: string): Promise<AsyncResult> {
  const { project, location, job } = parseAsyncId(id);
  const name = `projects/${project}/locations/${location}/batchPredictionJobs/${job}`;
  const [found] = await call(
    `get batch prediction job ${name}`,
    () => clients.jobs.getBatchPredictionJob({ name }),
    true,
  );
  const state = STATES[String(found.state ?? '')] ?? 'failed';
  if (state !== 'succeeded')
    return {
      id,
      state,
      ...(state === 'failed' ? { error: found.error?.message || String(found.state) } : {}),
    };
  const output = await readJobOutput(clients, found.outputInfo?.gcsOutputDirectory ?? '');
  const inputs = await readJobInputs(
    clients,
    found.inputConfig?.gcsSource?.uris ?? [],
    found.inputConfig?.instancesFormat ?? 'jsonl',
  );
  const files = inInputOrder(inputs, output);
  const failed = files.flatMap((f) => f.failed);
  if (failed.length > 0) {
    const total = files.reduce((n, f) => n + f.predictions.length, 0);
    return {
      id,
      state: 'failed',
      error: `${failed.length} of ${total} instance(s) got no prediction (job ${String(found.state)}): ${failed[0]?.error ?? ''}`,
    };
  }
  const predictions = files.flatMap((f) => f.predictions);
  return { id, state, contentType: 'application/json', body: Buffer.from(JSON.stringify({ predictions })) };
}

/**
 * Removes the batch prediction jobs async requests ran on a model (finished ones; running ones are
 * cancelled first), so destroying an async endpoint leaves no job behind. Their results stay in GCS.
 */
export async function deleteAsyncJobs(dc: DeploymentContext, modelId: string): Promise<void> {
  const filter = Object.entries(
    encodeLabels({ [TAGS.managedBy]: 'modelport', 'modelport.dev/async-of': dc.settings.name }),
  )
    .map(([k, v]) => `labels.${k}="${v}"`)
    .join(' AND ');
  const [jobs] = await call(
    'list async batch prediction jobs',
    () => dc.clients.jobs.listBatchPredictionJobs({ parent: parentOf(dc.settings), filter }),
    true,
  );
  for (const job of jobs.filter((j) => (j.model ?? '').replace(/@.*$/, '').endsWith(`/models/${modelId}`))) {
    const active = ['JOB_STATE_QUEUED', 'JOB_STATE_PENDING', 'JOB_STATE_RUNNING'].includes(String(job.state));
    await cancelAndDeleteJob(dc, job.name ?? '', active);
  }
}
