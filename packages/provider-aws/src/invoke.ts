import { randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { InvokeEndpointAsyncCommand, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { Upload } from '@aws-sdk/lib-storage';
import type {
  AsyncHandle,
  AsyncInvokeRequest,
  AsyncResult,
  InvokeRequest,
  InvokeResponse,
  LoadedEndpoint,
} from '@modelport/core';
import { ModelportError, endpointMode } from '@modelport/core';
import type { AwsClients } from './client-factory.js';
import type { AwsProviderOptions } from './options.js';
import { call, isNotFound } from './errors.js';
import type { AwsSettings } from './settings.js';
import { parseS3Uri, s3Uri } from './settings.js';

const MIB = 1024 * 1024;
/** SageMaker Runtime's body limits, checked before sending (the error suggests async). */
export const REALTIME_LIMIT_BYTES = 6 * MIB;
export const SERVERLESS_LIMIT_BYTES = 4 * MIB;
export const ASYNC_LIMIT_BYTES = 1024 * MIB;

export async function invokeEndpoint(
  clients: AwsClients,
  manifest: LoadedEndpoint,
  request: InvokeRequest,
): Promise<InvokeResponse> {
  const name = manifest.manifest.metadata.name;
  const mode = endpointMode(manifest.manifest);
  if (mode === 'async') {
    throw new ModelportError('capability', `${name} is an async endpoint: SageMaker answers it through S3`, {
      hint: 'use `modelport invoke --async` and `modelport result <id>`',
    });
  }
  const limit = mode === 'serverless' ? SERVERLESS_LIMIT_BYTES : REALTIME_LIMIT_BYTES;
  if (request.body.byteLength > limit) {
    throw new ModelportError(
      'invalidInput',
      `the payload is ${(request.body.byteLength / MIB).toFixed(2)} MB, above the ${limit / MIB} MB SageMaker accepts for ${mode} endpoints`,
      {
        hint: 'send it to an async endpoint (spec.mode: async, up to 1 GB through S3) or run a BatchJob over files',
        details: { bytes: request.body.byteLength, limitBytes: limit },
      },
    );
  }
  const started = performance.now();
  const response = await call(`invoke endpoint ${name}`, () =>
    clients.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: name,
        Body: request.body,
        ContentType: request.contentType,
        ...(request.accept === undefined ? {} : { Accept: request.accept }),
      }),
      request.timeoutMs === undefined ? {} : { requestTimeout: request.timeoutMs },
    ),
  );
  return {
    status: 200,
    body: response.Body ?? new Uint8Array(),
    contentType: response.ContentType ?? 'application/octet-stream',
    latencyMs: performance.now() - started,
    ...(response.InvokedProductionVariant === undefined
      ? {}
      : { servedBy: response.InvokedProductionVariant }),
  };
}

/**
 * Streams the payload to S3 (multipart, a few parts in memory at a time: 1 GB is never buffered), then
 * queues it with InvokeEndpointAsync. The handle names the output and failure locations and the region, so
 * `modelport result <id>` needs nothing else.
 */
export async function invokeEndpointAsync(
  clients: AwsClients,
  options: AwsProviderOptions,
  manifest: LoadedEndpoint,
  settings: AwsSettings,
  request: AsyncInvokeRequest,
): Promise<AsyncHandle> {
  const name = manifest.manifest.metadata.name;
  const asyncSpec = manifest.manifest.spec.async ?? {};
  const limit = Math.min(ASYNC_LIMIT_BYTES, (asyncSpec.maxPayloadMB ?? 1024) * MIB);
  if (request.sizeBytes !== undefined && request.sizeBytes > limit) {
    throw tooLarge(request.sizeBytes, limit);
  }
  const key = `${settings.prefix}/${name}/async-input/${randomUUID()}`;
  const input = s3Uri(settings.bucket, key);
  const source =
    request.body instanceof Uint8Array ? Readable.from([request.body]) : Readable.from(request.body);
  await call(`upload the async payload to ${input}`, () =>
    new Upload({
      client: clients.s3,
      partSize: options.partSizeBytes,
      queueSize: options.uploadQueueSize,
      params: {
        Bucket: settings.bucket,
        Key: key,
        Body: source.pipe(new ByteLimit(limit)),
        ContentType: request.contentType,
        ...(settings.kmsKeyId === undefined
          ? {}
          : { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: settings.kmsKeyId }),
      },
    }).done(),
  );
  const queued = await call(`queue the request on ${name}`, () =>
    clients.runtime.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: name,
        InputLocation: input,
        ContentType: request.contentType,
        InvocationTimeoutSeconds: asyncSpec.timeoutSeconds ?? 900,
        ...(asyncSpec.queueTtlSeconds === undefined ? {} : { RequestTTLSeconds: asyncSpec.queueTtlSeconds }),
      }),
    ),
  );
  const output = queued.OutputLocation;
  if (output === undefined)
    throw new ModelportError(
      'internal',
      `SageMaker queued the request on ${name} without an output location`,
    );
  const failure = queued.FailureLocation ?? '';
  return {
    id: asyncId(name, settings.region, output, failure),
    outputLocation: output,
  };
}

/** `aws/<endpoint>/<region>~<base64url of {o, f}>`: self-describing, with no `/` in the request part. */
export function asyncId(endpoint: string, region: string, output: string, failure: string): string {
  return `aws/${endpoint}/${region}~${Buffer.from(JSON.stringify({ o: output, f: failure })).toString('base64url')}`;
}

export function parseAsyncId(id: string): {
  endpoint: string;
  region: string;
  output: string;
  failure: string;
} {
  const [provider, endpoint, request] = id.split('/');
  const [region, encoded] = (request ?? '').split('~');
  try {
    if (provider !== 'aws' || endpoint === undefined || region === undefined || encoded === undefined)
      throw new Error('shape');
    const { o, f } = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as {
      o?: unknown;
      f?: unknown;
    };
    if (typeof o !== 'string' || typeof f !== 'string') throw new Error('fields');
    return { endpoint, region, output: o, failure: f };
  } catch {
    throw new ModelportError('invalidInput', `"${id}" is not an AWS async request id`, {
      hint: 'ids look like aws/<endpoint>/<region>~<token>, as printed by `modelport invoke --async`',
    });
  }
}

/** Reads the result from the output location; the failure location holds the error of a failed request. */
export async function readAsyncResult(
  clients: AwsClients,
  id: string,
  output: string,
  failure: string,
): Promise<AsyncResult> {
  const answer = await readObject(clients, output);
  if (answer !== undefined)
    return { id, state: 'succeeded', contentType: answer.contentType, body: answer.body };
  const error = failure === '' ? undefined : await readObject(clients, failure);
  if (error !== undefined) return { id, state: 'failed', error: Buffer.from(error.body).toString('utf8') };
  return { id, state: 'running' };
}

async function readObject(
  clients: AwsClients,
  uri: string,
): Promise<{ body: Uint8Array; contentType: string } | undefined> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const got = await call(`read ${uri}`, () =>
      clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })),
    );
    const body = (await got.Body?.transformToByteArray()) ?? new Uint8Array();
    return { body, contentType: got.ContentType ?? 'application/octet-stream' };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function tooLarge(bytes: number, limit: number): ModelportError {
  return new ModelportError(
    'invalidInput',
    `the payload is ${(bytes / MIB).toFixed(0)} MB, above the ${limit / MIB} MB limit of this async endpoint`,
    {
      hint: 'split the payload, or raise spec.async.maxPayloadMB (SageMaker accepts up to 1 GB)',
      details: { bytes, limitBytes: limit },
    },
  );
}

/** Fails a stream that grows past the limit (a payload of unknown size is checked as it goes). */
class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) callback(tooLarge(this.seen, this.limit));
    else callback(null, chunk);
  }
}
