import { randomUUID } from 'node:crypto';
import type { AsyncHandle, AsyncInvokeRequest, AsyncResult, ProviderContext } from '@modelport/core';
import { DeploymentState, ModelportError, mapState } from '@modelport/core';
import type { JobProperties } from './batch.js';
import { JOB_STATES, submitCommandJob } from './batch.js';
import type { AzureClients } from './client-factory.js';
import { datastoreContainer } from './datastore.js';
import type { DeploymentContext } from './deployment-context.js';
import { call } from './errors.js';
import type { AzureSettings } from './settings.js';
import { DATASTORE_PREFIX, datastoreUri, resourceTags } from './settings.js';

/** What `modelport result <id>` needs to find a request again, packed into the id. */
interface AsyncRef {
  sub: string;
  rg: string;
  ws: string;
  ds: string;
  name: string;
  job: string;
  run: string;
}

/** The input file of a request, and what the serving image's batch mode writes for it. */
const PAYLOAD_FILE = 'payload.jsonl';
const RESULT_FILE = `${PAYLOAD_FILE}.out`;

/**
 * Async requests on Azure (emulated, with the manifest's consent): the payload goes to the datastore as
 * JSON Lines (one instance per line), a command job runs the serving image's batch mode over it, and the
 * result is the job's output rows (`payload.jsonl.out`) as `{"predictions": [...]}`, the answer shape of
 * the realtime endpoint.
 */
export async function invokeAsyncEmulated(
  dc: DeploymentContext,
  request: AsyncInvokeRequest,
  job: Pick<JobProperties, 'environmentId' | 'compute' | 'model' | 'environmentVariables'>,
): Promise<AsyncHandle> {
  const s = dc.settings;
  const body = await collect(request.body);
  const lines = toJsonLines(body, request.contentType);
  const run = randomUUID();
  const prefix = `${DATASTORE_PREFIX}/${s.name}/async/${run}`;
  const blobs = await datastoreContainer(dc.clients, s);
  await call('upload the async payload', () =>
    blobs.getBlockBlobClient(`${prefix}/input/${PAYLOAD_FILE}`).uploadData(Buffer.from(lines)),
  );
  const name = await submitCommandJob(
    dc,
    job,
    datastoreUri(s, `${prefix}/input/`),
    datastoreUri(s, `${prefix}/output/`),
    { ...resourceTags(s, 'async-request'), 'modelport.dev.async-request': run },
    `${s.name}-async-${run.slice(0, 8)}`,
  );
  const ref: AsyncRef = {
    sub: s.subscriptionId,
    rg: s.resourceGroup,
    ws: s.workspace,
    ds: s.datastore,
    name: s.name,
    job: name,
    run,
  };
  return {
    id: `azure/${s.name}/${Buffer.from(JSON.stringify(ref)).toString('base64url')}`,
    outputLocation: datastoreUri(s, `${prefix}/output/${RESULT_FILE}`),
  };
}

export function parseAsyncRef(id: string): AsyncRef {
  const match = /^azure\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(id);
  try {
    if (match === null) throw new Error('bad shape');
    return JSON.parse(Buffer.from(match[2] ?? '', 'base64url').toString('utf8')) as AsyncRef;
  } catch {
    throw new ModelportError('invalidInput', `"${id}" is not an Azure async request id`, {
      hint: 'pass the id `modelport invoke --async` printed',
    });
  }
}

export async function asyncResultEmulated(
  clients: AzureClients,
  id: string,
  ctx: ProviderContext,
): Promise<AsyncResult> {
  const ref = parseAsyncRef(id);
  const job = await call(`read job ${ref.job}`, () => clients.ml.jobs.get(ref.rg, ref.ws, ref.job));
  const state = mapState(JOB_STATES, job.properties.status);
  if (state === DeploymentState.Failed || state === DeploymentState.Stopped) {
    const error = (job.properties as { error?: { message?: string } }).error?.message;
    return { id, state: 'failed', error: error ?? `the batch job ended ${job.properties.status ?? '?'}` };
  }
  if (state !== DeploymentState.Succeeded)
    return { id, state: state === DeploymentState.Running ? 'running' : 'queued' };
  const settings = {
    subscriptionId: ref.sub,
    resourceGroup: ref.rg,
    workspace: ref.ws,
    datastore: ref.ds,
    name: ref.name,
  } as AzureSettings;
  const blobs = await datastoreContainer(clients, settings);
  const path = `${DATASTORE_PREFIX}/${ref.name}/async/${ref.run}/output/${RESULT_FILE}`;
  const data = await call('read the async result', () =>
    blobs.getBlobClient(path).downloadToBuffer(undefined, undefined, { abortSignal: ctx.signal }),
  );
  const predictions = data
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
  return {
    id,
    state: 'succeeded',
    contentType: 'application/json',
    body: new TextEncoder().encode(JSON.stringify({ predictions })),
  };
}

async function collect(body: AsyncIterable<Uint8Array> | Uint8Array): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** `{"instances": [...]}`, a bare JSON array, JSON Lines or CSV → the lines the batch runner reads. */
function toJsonLines(body: Buffer, contentType: string): string {
  const text = body.toString('utf8');
  if (/csv|jsonlines|ndjson/i.test(contentType)) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  const instances = Array.isArray(parsed) ? parsed : (parsed as { instances?: unknown[] }).instances;
  if (!Array.isArray(instances)) {
    throw new ModelportError(
      'invalidInput',
      'an async payload must be {"instances": [...]}, a JSON array, JSON Lines or CSV',
    );
  }
  return instances.map((i) => `${JSON.stringify(i)}\n`).join('');
}
