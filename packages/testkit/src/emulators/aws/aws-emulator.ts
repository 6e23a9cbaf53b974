import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AutoScalingService } from './autoscaling-service.js';
import { BatchService } from './batch-service.js';
import { EventsService } from './events-service.js';
import { SchedulerService } from './scheduler-service.js';
import type { Reply } from './aws-http.js';
import {
  AwsError,
  escapeXml,
  hasSignature,
  newRequestId,
  readBody,
  signingRegion,
  signingService,
} from './aws-http.js';
import type { BotocoreService } from './botocore-model.js';
import { loadBotocoreService, RestRouter, specsDirFrom } from './botocore-model.js';
import { CloudWatchService } from './cloudwatch-service.js';
import type { CallContext } from './context.js';
import { Faults } from './faults.js';
import type { SpecViolation } from './request-validator.js';
import { RequestValidator } from './request-validator.js';
import { bindRestInput } from './rest-binding.js';
import { BATCH_ROUTES, RUNTIME_ROUTES, S3_ROUTES, SCHEDULER_ROUTES } from './routes.js';
import { RuntimeService } from './runtime-service.js';
import { S3Service } from './s3-service.js';
import { SageMakerContainers } from './sagemaker-containers.js';
import { SageMakerService } from './sagemaker-service.js';
import { ImageRegistry } from '../shared/containers.js';
import { Timers } from './timers.js';

export interface AwsEmulatorOptions {
  /** Delay of each status transition (Creating → InService, InProgress → Completed); default 25 ms. */
  transitionMs?: number;
  /** Folder of the botocore models; default `../shared/specs/aws` (or MODELPORT_AWS_SPECS_DIR). */
  specsDir?: string;
  /** Validate requests against the official models (default true, skipped with a message when absent). */
  validate?: boolean;
  /** Buckets that exist from the start. */
  buckets?: readonly string[];
  /** Async inputs above this are failed rather than run (default 64 MiB): the emulator shares the test's memory. */
  asyncRunLimitBytes?: number;
  /**
   * The images pushed to the account's ECR (and any registry the roles can pull from), by reference:
   * CreateModel refuses a reference that is not here, SageMaker endpoints, transform jobs and AWS Batch jobs
   * run these. Default: an empty registry.
   */
  images?: ImageRegistry;
  /**
   * How long a SageMaker container may take to answer GET /ping with 200 (default 60 s). SageMaker's own
   * bound is ProductionVariant.ContainerStartupHealthCheckTimeoutInSeconds (60–3600).
   */
  healthCheckTimeoutMs?: number;
  /** Milliseconds per second of an AWS Batch `attemptDurationSeconds` (default 1000; tests shrink it). */
  batchSecondMs?: number;
}

/** Calls of one operation, as counted by the emulator. */
export interface CallCount {
  service: string;
  operation: string;
  kind: 'read' | 'write' | 'invoke';
  count: number;
}

type Protocol = 'json' | 'rest-json' | 'rest-xml';

interface ServiceDef {
  /** Botocore model file stem. */
  model: string;
  protocol: Protocol;
  routes?: RestRouter;
  /** Why requests of this service are not validated, when there is no official model to check them. */
  unvalidated?: string;
  handle(ctx: CallContext): Promise<Reply> | Reply;
}

const READ = /^(Describe|List|Get|Head|Search)/;

/**
 * A stateful AWS emulator on 127.0.0.1 for the SDK v3 clients: SageMaker (control plane and runtime),
 * Application Auto Scaling, CloudWatch alarms, S3, AWS Batch, EventBridge Scheduler and EventBridge on one
 * port, routed by the SigV4 signing name (and `x-amz-target`).
 * Every request is checked against the official botocore model (CloudWatch has none there: its handler
 * checks what it needs); faults are injected on request; calls are counted as reads and writes so tests can
 * prove "no write calls".
 */
export class AwsEmulator {
  readonly faults = new Faults();
  /** Requests that broke the official models (a test asserts there are none). */
  readonly violations: SpecViolation[] = [];
  /** Why validation is off, when it is. */
  validationSkipped: string | undefined;
  s3!: S3Service;
  sagemaker!: SageMakerService;
  runtime!: RuntimeService;
  autoscaling!: AutoScalingService;
  cloudwatch!: CloudWatchService;
  batch!: BatchService;
  scheduler!: SchedulerService;
  events!: EventsService;
  /** The emulated registry the platforms pull images from. */
  readonly images: ImageRegistry;
  private containers!: SageMakerContainers;
  private timers!: Timers;
  private server: Server | undefined;
  private workDir: string | undefined;
  private readonly counts = new Map<string, CallCount>();
  /** Access key ids that signed requests (tests check a job used its role's temporary credentials). */
  readonly accessKeys = new Set<string>();
  private readonly services = new Map<string, ServiceDef>();
  private readonly targets = new Map<string, string>();
  private readonly validators = new Map<string, RequestValidator | null>();
  private readonly models = new Map<string, BotocoreService>();
  private specsDir: string | undefined;
  private url_: string | undefined;

  constructor(private readonly options: AwsEmulatorOptions = {}) {
    this.images = options.images ?? new ImageRegistry();
  }

  get url(): string {
    if (this.url_ === undefined) throw new Error('the emulator is not started');
    return this.url_;
  }

  /** The temp folder the emulator keeps objects and model files in. */
  get dir(): string {
    if (this.workDir === undefined) throw new Error('the emulator is not started');
    return this.workDir;
  }

  async start(): Promise<{ url: string }> {
    this.workDir = await mkdtemp(join(tmpdir(), 'modelport-aws-emulator-'));
    this.timers = new Timers(this.options.transitionMs ?? 25);
    this.s3 = new S3Service(join(this.workDir, 's3'));
    await this.s3.init();
    for (const bucket of this.options.buckets ?? []) this.s3.createBucket(bucket);
    this.containers = new SageMakerContainers(this.s3, this.images, this.workDir);
    this.sagemaker = new SageMakerService(this.s3, this.containers, this.faults, this.timers, {
      healthCheckMs: this.options.healthCheckTimeoutMs ?? 60_000,
    });
    this.runtime = new RuntimeService(
      this.sagemaker,
      this.s3,
      this.timers,
      this.options.asyncRunLimitBytes ?? 64 * 1024 * 1024,
    );
    this.autoscaling = new AutoScalingService(this.sagemaker);
    this.services.set('sagemaker', {
      model: 'sagemaker',
      protocol: 'json',
      handle: (c) => this.sagemaker.handle(c),
    });
    this.targets.set('SageMaker', 'sagemaker');
    this.services.set('sagemaker-runtime', {
      model: 'sagemaker-runtime',
      protocol: 'rest-json',
      routes: new RestRouter(RUNTIME_ROUTES),
      handle: (c) => this.runtime.handle(c),
    });
    this.services.set('application-autoscaling', {
      model: 'application-autoscaling',
      protocol: 'json',
      handle: (c) => this.autoscaling.handle(c),
    });
    this.targets.set('AnyScaleFrontendService', 'application-autoscaling');
    this.cloudwatch = new CloudWatchService();
    this.services.set('cloudwatch', {
      model: 'monitoring',
      protocol: 'json',
      // ../shared/specs/aws has no CloudWatch model, and the SDK client bundles only its (de)serialisers:
      // CloudWatchService checks the members it needs itself instead.
      unvalidated: 'no official CloudWatch model in the specs folder',
      handle: (c) => this.cloudwatch.handle(c),
    });
    this.targets.set('GraniteServiceVersion20100801', 'cloudwatch');
    this.services.set('s3', {
      model: 's3',
      protocol: 'rest-xml',
      routes: new RestRouter(S3_ROUTES),
      handle: (c) => this.s3.handle(c),
    });
    this.batch = new BatchService(this.faults, this.timers, {
      url: () => this.url,
      registry: this.images,
      workDir: this.workDir,
      secondMs: this.options.batchSecondMs ?? 1000,
    });
    this.services.set('batch', {
      model: 'batch',
      protocol: 'rest-json',
      routes: new RestRouter(BATCH_ROUTES),
      handle: (c) => this.batch.handle(c),
    });
    this.scheduler = new SchedulerService((arn, input, region) => {
      // Universal target `aws-sdk:batch:submitJob`: the input is the SubmitJob request.
      if (arn === 'arn:aws:scheduler:::aws-sdk:batch:submitJob') this.batch.submit(region, input);
    });
    this.services.set('scheduler', {
      model: 'scheduler',
      protocol: 'rest-json',
      routes: new RestRouter(SCHEDULER_ROUTES),
      handle: (c) => this.scheduler.handle(c),
    });
    this.events = new EventsService((target, _event, region) => {
      const parameters = target['BatchParameters'] as
        { JobDefinition?: string; JobName?: string } | undefined;
      if (String(target['Arn']).includes(':job-queue/') && parameters !== undefined) {
        this.batch.submit(region, {
          jobQueue: target['Arn'],
          jobDefinition: parameters.JobDefinition,
          jobName: parameters.JobName,
        });
      }
    });
    this.services.set('events', { model: 'events', protocol: 'json', handle: (c) => this.events.handle(c) });
    this.targets.set('AWSEvents', 'events');
    this.s3.onObjectCreated((object) => {
      if (this.s3.eventBridgeEnabled(object.bucket)) this.events.objectCreated(object);
    });
    if (this.options.validate === false) this.validationSkipped = 'validation switched off';
    else {
      const dir = this.options.specsDir ?? specsDirFrom();
      this.specsDir =
        dir !== undefined && existsSync(join(dir, 'sagemaker.service-2.json.gz')) ? dir : undefined;
      if (this.specsDir === undefined) {
        this.validationSkipped =
          'the official AWS models (../shared/specs/aws/*.service-2.json.gz) are absent: requests are not validated';
        console.warn(`AwsEmulator: ${this.validationSkipped}`);
      }
    }
    const server = createServer((req, res) => void this.onRequest(req, res));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url_ = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url: this.url_ };
  }

  async stop(): Promise<void> {
    this.timers?.stop();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.sagemaker?.stopContainers();
    await this.batch?.stopAll();
    await this.containers?.stopAll();
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------- counters

  callCounts(): CallCount[] {
    return [...this.counts.values()];
  }

  /** Calls that change state (Create*, Update*, Delete*, Put*, Register*, Submit*, tags, uploads). */
  writeCalls(filter?: (c: CallCount) => boolean): number {
    return this.sum((c) => c.kind === 'write' && (filter?.(c) ?? true));
  }

  readCalls(): number {
    return this.sum((c) => c.kind === 'read');
  }

  totalCalls(): number {
    return this.sum(() => true);
  }

  calls(operation: string): number {
    return this.sum((c) => c.operation === operation);
  }

  resetCounts(): void {
    this.counts.clear();
  }

  /** Throws when any request broke the official models, listing them. */
  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    throw new Error(
      `${this.violations.length} request(s) broke the official AWS models:\n${this.violations
        .map((v) => `  ${v.service} ${v.operation} ${v.path}: ${v.message}`)
        .join('\n')}`,
    );
  }

  private sum(filter: (c: CallCount) => boolean): number {
    let total = 0;
    for (const c of this.counts.values()) if (filter(c)) total += c.count;
    return total;
  }

  private count(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    let entry = this.counts.get(key);
    if (entry === undefined) {
      const kind = operation.startsWith('InvokeEndpoint')
        ? 'invoke'
        : READ.test(operation)
          ? 'read'
          : 'write';
      entry = { service, operation, kind, count: 0 };
      this.counts.set(key, entry);
    }
    entry.count++;
  }

  // ------------------------------------------------------------------------------------- requests

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    let protocol: Protocol = 'rest-xml';
    let streamed = false;
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      // The ECS container credentials endpoint of AWS Batch jobs (unsigned, like the real one).
      const credentials = this.batch.credentialsReply(url.pathname, req.headers['authorization']);
      if (credentials !== undefined) {
        this.send(res, credentials, 'batch', requestId);
        return;
      }
      await this.faults.waitLatency();
      const resolved = this.resolve(req, url);
      const serviceId = resolved.serviceId;
      const service = resolved.service;
      protocol = service.protocol;
      const { operation, labels } = resolved;
      streamed = serviceId === 's3' && (operation === 'PutObject' || operation === 'UploadPart');
      if (!hasSignature(req)) {
        throw new AwsError(
          'MissingAuthenticationTokenException',
          'Request is missing Authentication Token',
          403,
        );
      }
      this.count(serviceId, operation);
      const key = /Credential=([^/,\s]+)\//.exec(String(req.headers['authorization'] ?? ''))?.[1];
      if (key !== undefined) this.accessKeys.add(key);
      if (this.faults.takeThrottle(operation)) {
        throw serviceId === 's3'
          ? new AwsError('SlowDown', 'Please reduce your request rate.', 503)
          : new AwsError('ThrottlingException', 'Rate exceeded', 400);
      }
      if (this.faults.take500(operation)) {
        throw new AwsError(
          serviceId === 's3' ? 'InternalError' : 'InternalFailure',
          'We encountered an internal error. Please try again.',
          500,
        );
      }
      const body = streamed ? undefined : await readBody(req, 64 * 1024 * 1024);
      const { input, unchecked } = this.input(
        serviceId,
        service,
        operation,
        labels,
        url.searchParams,
        req,
        body,
      );
      this.validate(serviceId, service, operation, input, unchecked);
      const ctx: CallContext = {
        service: serviceId,
        operation,
        region: signingRegion(req) ?? 'us-east-1',
        requestId,
        req,
        labels,
        query: url.searchParams,
        body,
        input,
      };
      await this.faults.runHooks({ service: serviceId, operation, input }, 'before');
      const reply = await service.handle(ctx);
      await this.faults.runHooks({ service: serviceId, operation, input }, 'after');
      this.send(res, reply, serviceId, requestId);
    } catch (error) {
      if (streamed && !req.readableEnded) {
        // Read the rest of an upload before answering, so the client sees the error, not a reset.
        req.resume();
        await new Promise((resolve) => req.once('end', resolve).once('error', resolve));
      }
      this.sendError(res, req, error, protocol, requestId);
    }
  }

  private resolve(
    req: IncomingMessage,
    url: URL,
  ): { serviceId: string; service: ServiceDef; operation: string; labels: Record<string, string> } {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [prefix = '', operation = ''] = target.split('.');
      const serviceId = this.targets.get(prefix);
      const service = serviceId === undefined ? undefined : this.services.get(serviceId);
      if (serviceId === undefined || service === undefined) {
        throw new AwsError('UnknownOperationException', `the emulator does not serve ${target}`);
      }
      return { serviceId, service, operation, labels: {} };
    }
    const signing = signingService(req);
    const serviceId = signing === 'sagemaker' ? 'sagemaker-runtime' : (signing ?? 's3');
    const service = this.services.get(serviceId);
    if (service?.routes === undefined) {
      throw new AwsError(
        'UnknownOperationException',
        `the emulator does not serve ${serviceId} ${req.method} ${url.pathname}`,
        404,
      );
    }
    const match = service.routes.match(req.method ?? 'GET', url.pathname, url.searchParams);
    if (match === undefined) {
      throw new AwsError(
        'UnknownOperationException',
        `the emulator does not serve ${serviceId} ${req.method} ${url.pathname}${url.search}`,
        404,
      );
    }
    return { serviceId, service, operation: match.operation, labels: match.labels };
  }

  private input(
    serviceId: string,
    service: ServiceDef,
    operation: string,
    labels: Record<string, string>,
    query: URLSearchParams,
    req: IncomingMessage,
    body: Buffer | undefined,
  ): { input: Record<string, unknown>; unchecked: string[] } {
    if (service.protocol === 'json') {
      const text = body?.toString('utf8') ?? '';
      try {
        const parsed = text === '' ? {} : (JSON.parse(text) as unknown);
        return {
          input: typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {},
          unchecked: [],
        };
      } catch {
        throw new AwsError('SerializationException', 'the request body is not JSON');
      }
    }
    const model = this.model(serviceId, service);
    if (model === undefined) {
      // No model to bind with: the handlers read labels, query and headers themselves.
      const parsed =
        service.protocol === 'rest-json' && body !== undefined && body.length > 0 ? safeJson(body) : {};
      return { input: { ...labels, ...parsed }, unchecked: [] };
    }
    return bindRestInput(model, operation, { labels, query, headers: req.headers, body });
  }

  private validate(
    serviceId: string,
    service: ServiceDef,
    operation: string,
    input: Record<string, unknown>,
    unchecked: string[],
  ): void {
    let validator = this.validators.get(serviceId);
    if (validator === undefined) {
      const model = this.model(serviceId, service);
      validator = model === undefined ? null : new RequestValidator(model);
      this.validators.set(serviceId, validator);
    }
    if (validator === null) return;
    this.violations.push(...validator.validate(operation, input, unchecked));
  }

  private model(serviceId: string, service: ServiceDef): BotocoreService | undefined {
    if (this.specsDir === undefined || service.unvalidated !== undefined) return undefined;
    let model = this.models.get(serviceId);
    if (model === undefined) {
      model = loadBotocoreService(this.specsDir, service.model);
      this.models.set(serviceId, model);
    }
    return model;
  }

  /** Patterns of the official models that JavaScript could not compile (skipped, not silently passed). */
  skippedPatterns(): string[] {
    return [...this.validators.values()].flatMap((v) => (v === null ? [] : [...v.skippedPatterns]));
  }

  private send(res: ServerResponse, reply: Reply, serviceId: string, requestId: string): void {
    const headers: Record<string, string> = {
      ...(serviceId === 's3'
        ? { 'x-amz-request-id': requestId, 'x-amz-id-2': requestId }
        : { 'x-amzn-requestid': requestId }),
      ...reply.headers,
    };
    const body = reply.body;
    if (body === undefined) {
      if (headers['content-length'] === undefined) headers['content-length'] = '0';
      res.writeHead(reply.status, headers).end();
      return;
    }
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      headers['content-length'] = String(bytes.length);
      res.writeHead(reply.status, headers).end(bytes);
      return;
    }
    res.writeHead(reply.status, headers);
    const stream = body instanceof Readable ? body : Readable.from(body as AsyncIterable<Buffer>);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  private sendError(
    res: ServerResponse,
    req: IncomingMessage,
    thrown: unknown,
    protocol: Protocol,
    requestId: string,
  ): void {
    const error =
      thrown instanceof AwsError
        ? thrown
        : new AwsError(
            protocol === 'rest-xml' ? 'InternalError' : 'InternalFailure',
            String((thrown as Error)?.message ?? thrown),
            500,
          );
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (protocol === 'rest-xml') {
      const headers = { 'x-amz-request-id': requestId, 'content-type': 'application/xml' };
      if (req.method === 'HEAD') {
        res.writeHead(error.status, { ...headers, 'content-length': '0' }).end();
        return;
      }
      const extra = Object.entries(error.fields)
        .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
        .join('');
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`;
      res
        .writeHead(error.status, { ...headers, 'content-length': String(Buffer.byteLength(body)) })
        .end(body);
      return;
    }
    const payload =
      protocol === 'json'
        ? { __type: error.code, message: error.message, ...error.fields }
        : { message: error.message, Message: error.message, ...error.fields };
    const body = JSON.stringify(payload);
    res
      .writeHead(error.status, {
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': error.code,
        'content-type': protocol === 'json' ? 'application/x-amz-json-1.1' : 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      })
      .end(body);
  }
}

function safeJson(body: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
