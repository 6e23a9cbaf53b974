// A Batch Transform job as SageMaker runs it against the model's container
// (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html): the container is
// started with `serve` and the SAGEMAKER_BATCH… variables, asked GET /execution-parameters, then every
// input object is split into records (SplitType), packed into mini-batches of at most MaxPayloadInMB
// (BatchStrategy) and POSTed to /invocations with Content-Type = TransformInput.ContentType and
// Accept = TransformOutput.Accept; the answers are assembled (AssembleWith) into `<key>.out` under
// S3OutputPath. A non-2xx answer (after the retries of ModelClientConfig) fails the job.
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { relative } from 'node:path';
import { num, obj, str } from './context.js';
import type { S3Service } from './s3-service.js';
import type { ModelSource, SageMakerContainers, ServingContainer } from './sagemaker-containers.js';

export const BATCH_CONTRACT =
  'https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html';

const MIB = 1024 * 1024;

/** What GET /execution-parameters may answer (BATCH_CONTRACT, "How Containers Serve Requests"). */
interface ExecutionParameters {
  MaxConcurrentTransforms?: number;
  BatchStrategy?: string;
  MaxPayloadInMB?: number;
}

export interface TransformRun {
  /** The CreateTransformJob request. */
  request: Record<string, unknown>;
  source: ModelSource;
  name: string;
  healthTimeoutMs: number;
  /** Called with the container once it is up (so StopTransformJob can stop it). */
  onStarted?: (container: ServingContainer) => void;
}

/** Runs one transform job; throws an Error whose message is the job's FailureReason. */
export async function runTransform(
  s3: S3Service,
  containers: SageMakerContainers,
  run: TransformRun,
): Promise<void> {
  const request = run.request;
  const input = obj(request['TransformInput']);
  const output = obj(request['TransformOutput']);
  const source = obj(obj(input['DataSource'])['S3DataSource']);
  const client = obj(request['ModelClientConfig']);
  const given: ExecutionParameters = {
    ...(num(request, 'MaxConcurrentTransforms') === undefined
      ? {}
      : { MaxConcurrentTransforms: num(request, 'MaxConcurrentTransforms') as number }),
    ...(str(request, 'BatchStrategy') === undefined
      ? {}
      : { BatchStrategy: str(request, 'BatchStrategy') as string }),
    ...(num(request, 'MaxPayloadInMB') === undefined
      ? {}
      : { MaxPayloadInMB: num(request, 'MaxPayloadInMB') as number }),
  };
  // "The last three environment variables come from the API call made by the user. If the user doesn't set
  // values for them, they aren't passed" (BATCH_CONTRACT).
  const env: Record<string, string> = {
    ...Object.fromEntries(Object.entries(obj(request['Environment'])).map(([k, v]) => [k, String(v)])),
    SAGEMAKER_BATCH: 'true',
    ...(given.MaxPayloadInMB === undefined
      ? {}
      : { SAGEMAKER_MAX_PAYLOAD_IN_MB: String(given.MaxPayloadInMB) }),
    ...(given.BatchStrategy === undefined
      ? {}
      : {
          SAGEMAKER_BATCH_STRATEGY: given.BatchStrategy === 'SingleRecord' ? 'SINGLE_RECORD' : 'MULTI_RECORD',
        }),
    ...(given.MaxConcurrentTransforms === undefined
      ? {}
      : { SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: String(given.MaxConcurrentTransforms) }),
  };
  const container = await containers.start({
    name: run.name,
    source: run.source,
    env,
    healthTimeoutMs: run.healthTimeoutMs,
  });
  run.onStarted?.(container);
  try {
    // SageMaker asks GET /execution-parameters first; a container without the route (404) gets the
    // request's values, else the defaults (BATCH_CONTRACT, "How Containers Serve Requests").
    const asked = await executionParameters(container.url);
    const strategy = given.BatchStrategy ?? asked.BatchStrategy ?? 'MultiRecord';
    const maxPayload = (given.MaxPayloadInMB ?? asked.MaxPayloadInMB ?? 6) * MIB;
    const concurrency = Math.max(1, given.MaxConcurrentTransforms ?? asked.MaxConcurrentTransforms ?? 1);
    const contentType = str(input, 'ContentType');
    const accept = str(output, 'Accept');
    const split = str(input, 'SplitType') ?? 'None';
    const assemble = str(output, 'AssembleWith') ?? 'None';
    const retries = num(client, 'InvocationsMaxRetries') ?? 3;
    const timeoutMs = (num(client, 'InvocationsTimeoutInSeconds') ?? 600) * 1000;

    const inputUri = str(source, 'S3Uri') ?? '';
    const from = /^s3:\/\/([^/]+)\/?(.*)$/.exec(inputUri);
    const to = /^s3:\/\/([^/]+)\/?(.*)$/.exec(str(output, 'S3OutputPath') ?? '');
    if (from === null || to === null) throw new Error(`ClientError: bad S3 location ${inputUri}`);
    const [, inBucket = '', inPrefix = ''] = from;
    const [, outBucket = '', outRaw = ''] = to;
    const outPrefix = outRaw === '' || outRaw.endsWith('/') ? outRaw : `${outRaw}/`;
    const prefix = str(source, 'S3DataType') !== 'ManifestFile';
    const objects = s3
      .objects(inBucket)
      .filter((o) => (prefix ? o.key.startsWith(inPrefix) && !o.key.endsWith('/') : o.key === inPrefix));
    if (objects.length === 0) {
      throw new Error(
        `ClientError: No S3 objects found under S3 URL "${inputUri}" given in input data source.`,
      );
    }
    const base = inPrefix.includes('/') ? inPrefix.slice(0, inPrefix.lastIndexOf('/') + 1) : '';
    for (const object of objects) {
      const data = await readFile(object.path);
      const records = split === 'Line' ? lines(data) : [data];
      const batches = miniBatches(
        records,
        strategy === 'SingleRecord' ? 1 : Infinity,
        maxPayload,
        object.key,
      );
      const answers = await pool(batches, concurrency, (batch) =>
        invoke(container.url, batch.body, contentType, accept, { retries, timeoutMs }).then((reply) => {
          if (reply.status < 200 || reply.status > 299) {
            throw new Error(
              `ClientError: the container answered ${reply.status} to POST /invocations with records ${batch.first + 1}-${batch.last + 1} of s3://${inBucket}/${object.key}: ${reply.body.toString('utf8').slice(0, 500)}`,
            );
          }
          return reply.body;
        }),
      );
      const parts =
        assemble === 'Line'
          ? answers.map((a) => (a.length === 0 || a.at(-1) === 0x0a ? a : Buffer.concat([a, NL])))
          : answers;
      const name = relative(base, object.key);
      await s3.putBuffer(
        outBucket,
        `${outPrefix}${name}.out`,
        Buffer.concat(parts),
        accept ?? 'application/octet-stream',
      );
    }
  } finally {
    await container.stop();
  }
}

const NL = Buffer.from('\n');

/** Records of SplitType Line: every non-empty line, without its line break. */
export function lines(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 0x0a) {
      let end = i;
      if (end > start && data[end - 1] === 0x0d) end--;
      // A blank line is no record (a guess: not documented).
      if (end > start) out.push(data.subarray(start, end));
      start = i + 1;
    }
  }
  return out;
}

export interface MiniBatch {
  body: Buffer;
  first: number;
  last: number;
}

/**
 * MultiRecord: as many records as fit in MaxPayloadInMB, joined by line breaks; SingleRecord: one each.
 * A single record above the limit fails the job, as SageMaker does.
 */
export function miniBatches(records: Buffer[], perBatch: number, maxBytes: number, key: string): MiniBatch[] {
  const out: MiniBatch[] = [];
  let current: Buffer[] = [];
  let size = 0;
  let first = 0;
  const flush = (last: number): void => {
    if (current.length === 0) return;
    out.push({ body: Buffer.concat(current.flatMap((r, i) => (i === 0 ? [r] : [NL, r]))), first, last });
    current = [];
    size = 0;
  };
  records.forEach((record, i) => {
    if (record.length > maxBytes) {
      throw new Error(
        `ClientError: record ${i + 1} of ${key} has ${record.length} bytes, above MaxPayloadInMB (${maxBytes / MIB} MB)`,
      );
    }
    const added = record.length + (current.length === 0 ? 0 : 1);
    if (current.length >= perBatch || size + added > maxBytes) flush(i - 1);
    if (current.length === 0) first = i;
    current.push(record);
    size += current.length === 1 ? record.length : added;
  });
  flush(records.length - 1);
  return out;
}

async function executionParameters(url: string): Promise<ExecutionParameters> {
  const reply = await send(`${url}/execution-parameters`, 'GET', undefined, {}, 10_000).catch(
    () => undefined,
  );
  if (reply === undefined || reply.status !== 200) return {};
  try {
    const parsed = obj(JSON.parse(reply.body.toString('utf8')));
    return {
      ...(num(parsed, 'MaxConcurrentTransforms') === undefined
        ? {}
        : { MaxConcurrentTransforms: num(parsed, 'MaxConcurrentTransforms') as number }),
      ...(str(parsed, 'BatchStrategy') === undefined
        ? {}
        : { BatchStrategy: str(parsed, 'BatchStrategy') as string }),
      ...(num(parsed, 'MaxPayloadInMB') === undefined
        ? {}
        : { MaxPayloadInMB: num(parsed, 'MaxPayloadInMB') as number }),
    };
  } catch {
    return {};
  }
}

/** POST /invocations; 5xx answers and broken connections are retried (ModelClientConfig.InvocationsMaxRetries, default 3). */
async function invoke(
  url: string,
  body: Buffer,
  contentType: string | undefined,
  accept: string | undefined,
  policy: { retries: number; timeoutMs: number },
): Promise<{ status: number; body: Buffer }> {
  const headers: Record<string, string> = {
    ...(contentType === undefined ? {} : { 'content-type': contentType }),
    ...(accept === undefined ? {} : { accept }),
  };
  let last: { status: number; body: Buffer } | undefined;
  let error: unknown;
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    try {
      last = await send(`${url}/invocations`, 'POST', body, headers, policy.timeoutMs);
      if (last.status < 500) return last;
    } catch (e) {
      error = e;
    }
  }
  if (last !== undefined) return last;
  throw new Error(`ClientError: POST /invocations failed: ${(error as Error)?.message ?? String(error)}`);
}

function send(
  url: string,
  method: string,
  body: Buffer | undefined,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 500, body: Buffer.concat(chunks) }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Maps `items` with at most `limit` calls in flight (MaxConcurrentTransforms), keeping the order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
