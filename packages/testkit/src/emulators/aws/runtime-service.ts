import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Reply } from './aws-http.js';
import { AwsError, restJson } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, list, num, obj, str } from './context.js';
import { postToModel } from '../shared/model-servers.js';
import type { S3Service } from './s3-service.js';
import type { SageMakerService } from './sagemaker-service.js';
import type { Timers } from './timers.js';

const MIB = 1024 * 1024;
/** SageMaker's body limits: 6 MB real-time, 4 MB serverless. */
const REALTIME_LIMIT = 6 * MIB;
const SERVERLESS_LIMIT = 4 * MIB;

export interface AsyncInvocation {
  inferenceId: string;
  endpoint: string;
  inputLocation: string;
  outputLocation: string;
  failureLocation: string;
  state: 'queued' | 'succeeded' | 'failed';
}

/**
 * SageMaker Runtime (restJson1): InvokeEndpoint proxies the body to the endpoint's serving container (the
 * modelport runtime running the deployed ONNX model), InvokeEndpointAsync reads the input from S3 and writes
 * the answer (or the error) to the endpoint's S3 output (or failure) path, as SageMaker does.
 */
export class RuntimeService {
  readonly asyncInvocations: AsyncInvocation[] = [];

  constructor(
    private readonly sagemaker: SageMakerService,
    private readonly s3: S3Service,
    private readonly timers: Timers,
    /** Async inputs larger than this are failed instead of run (the emulator runs in the test process). */
    private readonly asyncRunLimitBytes: number,
  ) {}

  async handle(ctx: CallContext): Promise<Reply> {
    switch (ctx.operation) {
      case 'InvokeEndpoint':
        return this.invoke(ctx);
      case 'InvokeEndpointAsync':
        return this.invokeAsync(ctx);
      default:
        throw new AwsError('UnknownOperationException', `the emulator does not implement ${ctx.operation}`);
    }
  }

  private async invoke(ctx: CallContext): Promise<Reply> {
    const name = ctx.labels['EndpointName'] ?? '';
    const { variant, serverless } = this.servingVariant(name, ctx.region);
    const body = ctx.body ?? Buffer.alloc(0);
    const limit = serverless ? SERVERLESS_LIMIT : REALTIME_LIMIT;
    if (body.length > limit) {
      throw new AwsError(
        'ValidationError',
        `Received payload size of ${body.length} bytes exceeds the maximum allowed payload size of ${limit} bytes.`,
        413,
      );
    }
    const contentType = headerOf(ctx, 'content-type') ?? 'application/octet-stream';
    const accept = headerOf(ctx, 'accept');
    const custom = headerOf(ctx, 'x-amzn-sagemaker-custom-attributes');
    const answer = await this.callContainer(name, variant, body, contentType, accept, ctx.region, custom);
    return {
      status: 200,
      headers: {
        'content-type': answer.contentType,
        'x-amzn-invoked-production-variant': String(variant['VariantName'] ?? 'AllTraffic'),
      },
      body: answer.body,
    };
  }

  private invokeAsync(ctx: CallContext): Reply {
    const name = ctx.labels['EndpointName'] ?? '';
    const { variant, asyncConfig } = this.servingVariant(name, ctx.region);
    if (asyncConfig === undefined) {
      throw new AwsError('ValidationError', `Endpoint ${name} is not an asynchronous inference endpoint.`);
    }
    const inputLocation = str(ctx.input, 'InputLocation') ?? '';
    const input = s3Location(inputLocation);
    if (input === undefined || this.s3.get(input.bucket, input.key) === undefined) {
      throw new AwsError('ValidationError', `Could not access input location ${inputLocation}.`);
    }
    const output = obj(asyncConfig['OutputConfig']);
    const inferenceId = str(ctx.input, 'InferenceId') ?? randomUUID();
    const outputPath = trimSlash(str(output, 'S3OutputPath') ?? '');
    const failurePath = trimSlash(str(output, 'S3FailurePath') ?? outputPath);
    const invocation: AsyncInvocation = {
      inferenceId,
      endpoint: name,
      inputLocation,
      outputLocation: `${outputPath}/${inferenceId}.out`,
      failureLocation: `${failurePath}/${inferenceId}-error.out`,
      state: 'queued',
    };
    this.asyncInvocations.push(invocation);
    const contentType = str(ctx.input, 'ContentType') ?? 'application/octet-stream';
    const accept = str(ctx.input, 'Accept');
    const custom = str(ctx.input, 'CustomAttributes');
    // An async request may run up to ClientConfig.InvocationTimeoutSeconds (default 900 s, at most 3600):
    // API_AsyncInferenceClientConfig.html.
    const timeoutS = num(obj(asyncConfig['ClientConfig']), 'InvocationTimeoutSeconds') ?? 900;
    this.timers.later(() =>
      this.runAsync(invocation, variant, contentType, accept, ctx.region, { custom, timeoutS }),
    );
    return restJson({ InferenceId: inferenceId }, 202, {
      'x-amzn-sagemaker-outputlocation': invocation.outputLocation,
      'x-amzn-sagemaker-failurelocation': invocation.failureLocation,
    });
  }

  private async runAsync(
    invocation: AsyncInvocation,
    variant: Record<string, unknown>,
    contentType: string,
    accept: string | undefined,
    region: string,
    call: { custom: string | undefined; timeoutS: number },
  ): Promise<void> {
    const output = s3Location(invocation.outputLocation);
    const failure = s3Location(invocation.failureLocation);
    if (output === undefined || failure === undefined) return;
    try {
      const input = s3Location(invocation.inputLocation);
      const object = input === undefined ? undefined : this.s3.get(input.bucket, input.key);
      if (object === undefined) throw new Error(`the input ${invocation.inputLocation} is gone`);
      if (object.size > this.asyncRunLimitBytes) {
        throw new Error(
          `the emulator does not run async inputs over ${this.asyncRunLimitBytes} bytes (this one has ${object.size})`,
        );
      }
      const answer = await this.callContainer(
        invocation.endpoint,
        variant,
        await readFile(object.path),
        contentType,
        accept,
        region,
        call.custom,
        call.timeoutS,
      );
      await this.s3.putBuffer(output.bucket, output.key, answer.body, answer.contentType);
      invocation.state = 'succeeded';
    } catch (error) {
      const message =
        error instanceof AwsError && error.fields['OriginalMessage'] !== undefined
          ? String(error.fields['OriginalMessage'])
          : error instanceof Error
            ? error.message
            : String(error);
      await this.s3.putBuffer(failure.bucket, failure.key, message, 'text/plain');
      invocation.state = 'failed';
    }
  }

  /** The variant serving an endpoint now, or SageMaker's error for a missing or not-serving endpoint. */
  private servingVariant(
    name: string,
    region: string,
  ): { variant: Record<string, unknown>; serverless: boolean; asyncConfig?: Record<string, unknown> } {
    const endpoint = this.sagemaker.endpoints.get(name.toLowerCase());
    if (endpoint === undefined) {
      throw new AwsError('ValidationError', `Endpoint ${name} of account ${ACCOUNT_ID} not found.`);
    }
    if (!['InService', 'Updating', 'RollingBack', 'SystemUpdating'].includes(endpoint.status)) {
      throw new AwsError(
        'ValidationError',
        `Endpoint ${endpoint.arn.replace(/:[^:]+:\d{12}:/, `:${region}:${ACCOUNT_ID}:`)} is not in service (${endpoint.status}).`,
      );
    }
    const config = this.sagemaker.config(endpoint.configName);
    const variant = obj(list(config.request['ProductionVariants'])[0]);
    const asyncConfig = config.request['AsyncInferenceConfig'];
    return {
      variant,
      serverless: variant['ServerlessConfig'] !== undefined,
      ...(asyncConfig === undefined ? {} : { asyncConfig: obj(asyncConfig) }),
    };
  }

  private async callContainer(
    endpoint: string,
    variant: Record<string, unknown>,
    body: Buffer,
    contentType: string,
    accept: string | undefined,
    region: string,
    custom?: string,
    /** Real-time invocations get 60 s from SageMaker (API_runtime_InvokeEndpoint.html). */
    timeoutS = 60,
  ): Promise<{ body: Buffer; contentType: string }> {
    const logStream = `arn:aws:logs:${region}:${ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/${endpoint}`;
    const serving = this.sagemaker.servingContainer(
      this.sagemaker.endpoint(endpoint),
      str(variant, 'VariantName'),
    );
    if (serving === undefined) {
      throw new AwsError('ServiceUnavailable', `Endpoint ${endpoint} has no running container.`, 503);
    }
    // SageMaker passes the caller's Content-Type, Accept and X-Amzn-SageMaker-Custom-Attributes to the
    // container's POST /invocations and answers with the container's body and Content-Type; a non-2xx
    // answer is a ModelError (424) carrying OriginalStatusCode (API_runtime_InvokeEndpoint.html).
    const reply = await postToModel(
      `${serving.url}/invocations`,
      body,
      {
        'content-type': contentType,
        ...(accept === undefined ? {} : { accept }),
        ...(custom === undefined ? {} : { 'x-amzn-sagemaker-custom-attributes': custom }),
      },
      'application/octet-stream',
      {
        ms: timeoutS * 1000,
        error: () =>
          modelError(
            408,
            'Your invocation timed out while waiting for a response from container primary.',
            logStream,
          ),
      },
    );
    if (reply.status < 200 || reply.status > 299) {
      throw modelError(reply.status, reply.body.toString('utf8'), logStream);
    }
    return { body: reply.body, contentType: reply.contentType };
  }
}

function modelError(status: number, message: string, logStream: string): AwsError {
  return new AwsError(
    'ModelError',
    `Received ${status < 500 ? 'client' : 'server'} error (${status}) from primary with message "${message}". See ${logStream} in account ${ACCOUNT_ID} for more information.`,
    424,
    { OriginalStatusCode: status, OriginalMessage: message, LogStreamArn: logStream },
  );
}

function headerOf(ctx: CallContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function s3Location(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match === null ? undefined : { bucket: match[1] as string, key: match[2] as string };
}

function trimSlash(uri: string): string {
  return uri.endsWith('/') ? uri.slice(0, -1) : uri;
}
