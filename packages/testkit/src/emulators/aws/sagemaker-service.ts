import type { Reply } from './aws-http.js';
import { AwsError, json, validation } from './aws-http.js';
import type { CallContext } from './context.js';
import { ACCOUNT_ID, epochSeconds, list, num, obj, str } from './context.js';
import type { Faults } from './faults.js';
import type { S3Service } from './s3-service.js';
import type { ModelSource, SageMakerContainers, ServingContainer } from './sagemaker-containers.js';
import { ContainerFailure } from './sagemaker-containers.js';
import type { Timers } from './timers.js';
import { runTransform } from './transform-runner.js';

export interface SageMakerModel {
  name: string;
  arn: string;
  created: number;
  request: Record<string, unknown>;
}

export interface SageMakerEndpointConfig {
  name: string;
  arn: string;
  created: number;
  request: Record<string, unknown>;
}

export type EndpointStatus =
  | 'Creating'
  | 'InService'
  | 'Updating'
  | 'RollingBack'
  | 'Deleting'
  | 'Failed'
  | 'SystemUpdating'
  | 'OutOfService'
  | 'UpdateRollbackFailed';

export interface SageMakerEndpoint {
  name: string;
  arn: string;
  configName: string;
  status: EndpointStatus;
  failureReason?: string;
  created: number;
  modified: number;
  lastDeploymentConfig?: unknown;
  /** Bumped on every status change: a late timer of an older transition does nothing. */
  generation: number;
  /** The running containers of the config it serves, by variant name. */
  containers: Map<string, ServingContainer>;
}

export interface TransformJob {
  name: string;
  arn: string;
  status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  failureReason?: string;
  created: number;
  modified: number;
  ended?: number;
  request: Record<string, unknown>;
  /** Its container while it runs. */
  container?: ServingContainer;
}

export interface SageMakerTimeouts {
  /** How long a container may take to answer GET /ping with 200 before the endpoint (or job) fails. */
  healthCheckMs: number;
}

/** The FailureReason shape's max length in the botocore model (DescribeEndpoint, DescribeTransformJob). */
const FAILURE_REASON_MAX = 1024;
const PAGE = 10; // SageMaker's default page size for List* calls: the provider must paginate

/**
 * The SageMaker control plane (awsJson1_1, `x-amz-target: SageMaker.*`): models, endpoint configs, endpoints
 * with their real status walk, transform jobs that really run the model over S3 files, and tags.
 */
export class SageMakerService {
  readonly models = new Map<string, SageMakerModel>();
  readonly endpointConfigs = new Map<string, SageMakerEndpointConfig>();
  readonly endpoints = new Map<string, SageMakerEndpoint>();
  readonly transformJobs = new Map<string, TransformJob>();
  readonly tags = new Map<string, Record<string, string>>();

  constructor(
    private readonly s3: S3Service,
    private readonly containers: SageMakerContainers,
    private readonly faults: Faults,
    private readonly timers: Timers,
    private readonly timeouts: SageMakerTimeouts,
  ) {}

  async handle(ctx: CallContext): Promise<Reply> {
    const input = ctx.input;
    switch (ctx.operation) {
      case 'CreateModel':
        return json(this.createModel(ctx.region, input));
      case 'DescribeModel':
        return json(this.describeModel(required(input, 'ModelName')));
      case 'DeleteModel':
        this.deleteNamed(this.models, required(input, 'ModelName'), 'model');
        return json({});
      case 'ListModels':
        return json(
          this.page(input, [...this.models.values()], 'Models', (m) => ({
            ModelName: m.name,
            ModelArn: m.arn,
            CreationTime: epochSeconds(m.created),
          })),
        );
      case 'CreateEndpointConfig':
        return json(this.createEndpointConfig(ctx.region, input));
      case 'DescribeEndpointConfig':
        return json(this.describeEndpointConfig(required(input, 'EndpointConfigName')));
      case 'DeleteEndpointConfig':
        this.deleteNamed(
          this.endpointConfigs,
          required(input, 'EndpointConfigName'),
          'endpoint configuration',
        );
        return json({});
      case 'ListEndpointConfigs':
        return json(
          this.page(input, [...this.endpointConfigs.values()], 'EndpointConfigs', (c) => ({
            EndpointConfigName: c.name,
            EndpointConfigArn: c.arn,
            CreationTime: epochSeconds(c.created),
          })),
        );
      case 'CreateEndpoint':
        return json(this.createEndpoint(ctx.region, input));
      case 'UpdateEndpoint':
        return json(this.updateEndpoint(input));
      case 'DescribeEndpoint':
        return json(this.describeEndpoint(required(input, 'EndpointName')));
      case 'DeleteEndpoint':
        return json(this.deleteEndpoint(required(input, 'EndpointName')));
      case 'ListEndpoints':
        return json(
          this.page(
            input,
            [...this.endpoints.values()].filter(
              (e) => str(input, 'StatusEquals') === undefined || e.status === str(input, 'StatusEquals'),
            ),
            'Endpoints',
            (e) => ({
              EndpointName: e.name,
              EndpointArn: e.arn,
              CreationTime: epochSeconds(e.created),
              LastModifiedTime: epochSeconds(e.modified),
              EndpointStatus: e.status,
            }),
          ),
        );
      case 'CreateTransformJob':
        return json(this.createTransformJob(ctx.region, input));
      case 'DescribeTransformJob':
        return json(this.describeTransformJob(required(input, 'TransformJobName')));
      case 'StopTransformJob':
        this.stopTransformJob(required(input, 'TransformJobName'));
        return json({});
      case 'ListTransformJobs':
        return json(
          this.page(input, [...this.transformJobs.values()], 'TransformJobSummaries', (j) => ({
            TransformJobName: j.name,
            TransformJobArn: j.arn,
            CreationTime: epochSeconds(j.created),
            LastModifiedTime: epochSeconds(j.modified),
            TransformJobStatus: j.status,
            ...(j.ended === undefined ? {} : { TransformEndTime: epochSeconds(j.ended) }),
            ...(j.failureReason === undefined ? {} : { FailureReason: j.failureReason }),
          })),
        );
      case 'AddTags':
        return json({ Tags: this.addTags(required(input, 'ResourceArn'), list(input['Tags'])) });
      case 'ListTags':
        return json(this.listTags(input));
      case 'DeleteTags': {
        const tags = this.tagsOf(required(input, 'ResourceArn'));
        for (const key of list(input['TagKeys'])) delete tags[String(key)];
        return json({});
      }
      default:
        throw new AwsError(
          'UnknownOperationException',
          `the emulator does not implement SageMaker.${ctx.operation}`,
        );
    }
  }

  // ---------------------------------------------------------------------------------------- models

  private createModel(region: string, input: Record<string, unknown>): unknown {
    const name = required(input, 'ModelName');
    if (this.models.has(key(name))) {
      const arn = this.models.get(key(name))?.arn;
      throw validation(`Cannot create already existing model "${arn}".`);
    }
    if (input['PrimaryContainer'] === undefined && input['Containers'] === undefined) {
      throw validation('Either PrimaryContainer or Containers must be specified.');
    }
    // CreateModel pulls nothing yet, but refuses an image it cannot find or whose manifest it cannot use
    // (sagemaker-containers.ts: SAGEMAKER_MANIFEST_TYPES).
    for (const container of [input['PrimaryContainer'], ...list(input['Containers'])].filter(Boolean)) {
      this.containers.image(str(obj(container), 'Image') ?? '');
    }
    const arn = `arn:aws:sagemaker:${region}:${ACCOUNT_ID}:model/${name.toLowerCase()}`;
    this.models.set(key(name), { name, arn, created: Date.now(), request: input });
    this.tags.set(arn, tagMap(list(input['Tags'])));
    return { ModelArn: arn };
  }

  private describeModel(name: string): unknown {
    const model = this.models.get(key(name));
    if (model === undefined) throw validation(`Could not find model "${this.arnGuess('model', name)}".`);
    const { Tags: _tags, ...rest } = model.request;
    return { ...rest, ModelArn: model.arn, CreationTime: epochSeconds(model.created) };
  }

  /** Where a model's files come from, for containers and transform jobs. */
  modelSource(modelName: string): ModelSource {
    const model = this.models.get(key(modelName));
    if (model === undefined) throw validation(`Could not find model "${this.arnGuess('model', modelName)}".`);
    const container = obj(model.request['PrimaryContainer'] ?? list(model.request['Containers'])[0]);
    const dataSource = obj(obj(container['ModelDataSource'])['S3DataSource']);
    const environment = Object.fromEntries(
      Object.entries(obj(container['Environment'])).map(([k, v]) => [k, String(v)]),
    );
    const modelDataUrl = str(container, 'ModelDataUrl');
    const uri = str(dataSource, 'S3Uri');
    return {
      image: str(container, 'Image') ?? '',
      environment,
      ...(modelDataUrl === undefined ? {} : { modelDataUrl }),
      ...(uri === undefined
        ? {}
        : {
            dataSource: {
              uri,
              dataType: str(dataSource, 'S3DataType') ?? 'S3Object',
              compression: str(dataSource, 'CompressionType') ?? 'None',
            },
          }),
    };
  }

  // ------------------------------------------------------------------------------ endpoint configs

  private createEndpointConfig(region: string, input: Record<string, unknown>): unknown {
    const name = required(input, 'EndpointConfigName');
    if (this.endpointConfigs.has(key(name))) {
      throw validation(
        `Cannot create already existing endpoint configuration "${this.endpointConfigs.get(key(name))?.arn}".`,
      );
    }
    const variants = list(input['ProductionVariants']).map(obj);
    for (const variant of variants) {
      const modelName = str(variant, 'ModelName') ?? '';
      if (!this.models.has(key(modelName))) {
        throw validation(`Could not find model "${this.arnGuess('model', modelName, region)}".`);
      }
      const serverless = variant['ServerlessConfig'] !== undefined;
      if (
        !serverless &&
        (variant['InstanceType'] === undefined || variant['InitialInstanceCount'] === undefined)
      ) {
        throw validation(
          'Either ServerlessConfig or InstanceType and InitialInstanceCount must be specified for each production variant.',
        );
      }
      const sc = obj(variant['ServerlessConfig']);
      const memory = num(sc, 'MemorySizeInMB');
      if (memory !== undefined && memory % 1024 !== 0) {
        throw validation(`MemorySizeInMB must be one of 1024, 2048, 3072, 4096, 5120, 6144; got ${memory}.`);
      }
      const provisioned = num(sc, 'ProvisionedConcurrency');
      if (provisioned !== undefined && provisioned > (num(sc, 'MaxConcurrency') ?? 0)) {
        throw validation('ProvisionedConcurrency must be less than or equal to MaxConcurrency.');
      }
    }
    const arn = `arn:aws:sagemaker:${region}:${ACCOUNT_ID}:endpoint-config/${name.toLowerCase()}`;
    this.endpointConfigs.set(key(name), { name, arn, created: Date.now(), request: input });
    this.tags.set(arn, tagMap(list(input['Tags'])));
    return { EndpointConfigArn: arn };
  }

  private describeEndpointConfig(name: string): unknown {
    const config = this.endpointConfigs.get(key(name));
    if (config === undefined) {
      throw validation(`Could not find endpoint configuration "${this.arnGuess('endpoint-config', name)}".`);
    }
    const { Tags: _tags, ...rest } = config.request;
    return { ...rest, EndpointConfigArn: config.arn, CreationTime: epochSeconds(config.created) };
  }

  // ------------------------------------------------------------------------------------- endpoints

  private createEndpoint(region: string, input: Record<string, unknown>): unknown {
    const name = required(input, 'EndpointName');
    const configName = required(input, 'EndpointConfigName');
    if (this.endpoints.has(key(name))) {
      throw validation(`Cannot create already existing endpoint "${this.endpoints.get(key(name))?.arn}".`);
    }
    this.config(configName);
    const arn = `arn:aws:sagemaker:${region}:${ACCOUNT_ID}:endpoint/${name.toLowerCase()}`;
    const now = Date.now();
    const endpoint: SageMakerEndpoint = {
      name,
      arn,
      configName,
      status: 'Creating',
      created: now,
      modified: now,
      generation: 0,
      containers: new Map(),
    };
    this.endpoints.set(key(name), endpoint);
    this.tags.set(arn, tagMap(list(input['Tags'])));
    const failure = this.faults.takeCreateFailure(name);
    this.timers.later(() => this.finishCreate(endpoint, endpoint.generation, failure));
    return { EndpointArn: arn };
  }

  private async finishCreate(
    endpoint: SageMakerEndpoint,
    generation: number,
    failure: string | undefined,
  ): Promise<void> {
    if (endpoint.generation !== generation || endpoint.status !== 'Creating') return;
    if (this.faults.isStuck(endpoint.name)) {
      this.timers.later(() => this.finishCreate(endpoint, generation, failure));
      return;
    }
    const started = failure === undefined ? await this.startContainers(endpoint) : { problem: failure };
    if (endpoint.generation !== generation || endpoint.status !== 'Creating') {
      await stopAll(started.containers);
      return;
    }
    if (started.containers !== undefined) endpoint.containers = started.containers;
    this.setStatus(endpoint, started.problem === undefined ? 'InService' : 'Failed', started.problem);
  }

  private updateEndpoint(input: Record<string, unknown>): unknown {
    const endpoint = this.endpoint(required(input, 'EndpointName'));
    const configName = required(input, 'EndpointConfigName');
    if (endpoint.status !== 'InService') {
      throw validation(`Cannot update in-progress endpoint "${endpoint.arn}".`);
    }
    this.config(configName);
    const previous = endpoint.configName;
    const failure = this.faults.takeUpdateFailure(endpoint.name);
    if (input['DeploymentConfig'] !== undefined) endpoint.lastDeploymentConfig = input['DeploymentConfig'];
    this.setStatus(endpoint, 'Updating');
    const generation = endpoint.generation;
    this.timers.later(async () => {
      if (endpoint.generation !== generation) return;
      // SageMaker starts the new fleet, then stops the old containers (SIGTERM, SIGKILL 30 s later):
      // HOSTING_CONTRACT, "How SageMaker AI Runs Your Inference Image".
      const started =
        failure === undefined ? await this.startContainers(endpoint, configName) : { problem: failure };
      if (endpoint.generation !== generation) {
        await stopAll(started.containers);
        return;
      }
      const problem = started.problem;
      if (problem === undefined && started.containers !== undefined) {
        const old = endpoint.containers;
        endpoint.containers = started.containers;
        endpoint.configName = configName;
        this.setStatus(endpoint, 'InService');
        await stopAll(old);
        return;
      }
      // A failed update rolls back: the endpoint keeps serving the previous config.
      this.setStatus(endpoint, 'RollingBack', problem);
      const rollback = endpoint.generation;
      this.timers.later(() => {
        if (endpoint.generation !== rollback) return;
        endpoint.configName = previous;
        this.setStatus(endpoint, 'InService', problem);
      });
    });
    return { EndpointArn: endpoint.arn };
  }

  private describeEndpoint(name: string): unknown {
    const endpoint = this.endpoint(name);
    const config = this.endpointConfigs.get(key(endpoint.configName));
    const variants = list(config?.request['ProductionVariants']).map(obj);
    const settled =
      endpoint.status === 'InService' || endpoint.status === 'Updating' || endpoint.status === 'RollingBack';
    return {
      EndpointName: endpoint.name,
      EndpointArn: endpoint.arn,
      EndpointConfigName: endpoint.configName,
      EndpointStatus: endpoint.status,
      ...(endpoint.failureReason === undefined ? {} : { FailureReason: endpoint.failureReason }),
      CreationTime: epochSeconds(endpoint.created),
      LastModifiedTime: epochSeconds(endpoint.modified),
      ...(endpoint.lastDeploymentConfig === undefined
        ? {}
        : { LastDeploymentConfig: endpoint.lastDeploymentConfig }),
      ...(config?.request['AsyncInferenceConfig'] === undefined
        ? {}
        : { AsyncInferenceConfig: config.request['AsyncInferenceConfig'] }),
      ...(settled
        ? {
            ProductionVariants: variants.map((v) => ({
              VariantName: v['VariantName'],
              CurrentWeight: v['InitialVariantWeight'] ?? 1,
              DesiredWeight: v['InitialVariantWeight'] ?? 1,
              ...(v['ServerlessConfig'] === undefined
                ? {
                    CurrentInstanceCount: v['InitialInstanceCount'],
                    DesiredInstanceCount: v['InitialInstanceCount'],
                  }
                : {
                    CurrentServerlessConfig: v['ServerlessConfig'],
                    DesiredServerlessConfig: v['ServerlessConfig'],
                  }),
            })),
          }
        : {}),
    };
  }

  private deleteEndpoint(name: string): unknown {
    const endpoint = this.endpoint(name);
    this.setStatus(endpoint, 'Deleting');
    const generation = endpoint.generation;
    this.timers.later(async () => {
      if (endpoint.generation !== generation) return;
      this.endpoints.delete(key(endpoint.name));
      this.tags.delete(endpoint.arn);
      await stopAll(endpoint.containers);
    });
    return {};
  }

  /**
   * Starts one container per variant of a config (the image of its model with `serve`, the model data in
   * /opt/ml/model, GET /ping until 200); on any failure stops the ones it started and returns SageMaker's
   * failure reason. One container stands for a variant's InitialInstanceCount instances.
   */
  private async startContainers(
    endpoint: SageMakerEndpoint,
    configName = endpoint.configName,
  ): Promise<{ containers?: Map<string, ServingContainer>; problem?: string }> {
    const config = this.endpointConfigs.get(key(configName));
    if (config === undefined) return { problem: `Could not find endpoint configuration "${configName}".` };
    const started = new Map<string, ServingContainer>();
    for (const variant of list(config.request['ProductionVariants']).map(obj)) {
      const variantName = String(variant['VariantName'] ?? 'AllTraffic');
      // The variant's own bound (60–3600 s, API_ProductionVariant.html), else the emulator's.
      const bound = num(variant, 'ContainerStartupHealthCheckTimeoutInSeconds');
      try {
        const source = this.modelSource(str(variant, 'ModelName') ?? '');
        started.set(
          variantName,
          await this.containers.start({
            name: `${endpoint.name}-${variantName}`,
            source,
            healthTimeoutMs: bound === undefined ? this.timeouts.healthCheckMs : bound * 1000,
          }),
        );
      } catch (error) {
        await stopAll(started);
        const message = error instanceof Error ? error.message : String(error);
        return {
          problem:
            error instanceof ContainerFailure && message.startsWith('Failed to ')
              ? message
              : `The primary container for production variant ${variantName} did not pass the ping health check. Please check CloudWatch logs for this endpoint. ${message}`,
        };
      }
    }
    return { containers: started };
  }

  /** The container serving a variant of an endpoint now (the first variant when none is named). */
  servingContainer(endpoint: SageMakerEndpoint, variantName?: string): ServingContainer | undefined {
    return variantName === undefined
      ? endpoint.containers.values().next().value
      : endpoint.containers.get(variantName);
  }

  /** Stops every endpoint's and job's container (the emulator's stop). */
  async stopContainers(): Promise<void> {
    await Promise.all([...this.endpoints.values()].map((e) => stopAll(e.containers)));
    await Promise.all([...this.transformJobs.values()].map((j) => j.container?.stop()));
  }

  private setStatus(endpoint: SageMakerEndpoint, status: EndpointStatus, failureReason?: string): void {
    endpoint.status = status;
    endpoint.generation++;
    endpoint.modified = Date.now();
    if (failureReason === undefined) {
      if (status === 'InService') delete endpoint.failureReason;
    } else endpoint.failureReason = failureReason.slice(0, FAILURE_REASON_MAX);
  }

  endpoint(name: string): SageMakerEndpoint {
    const endpoint = this.endpoints.get(key(name));
    if (endpoint === undefined)
      throw validation(`Could not find endpoint "${this.arnGuess('endpoint', name)}".`);
    return endpoint;
  }

  config(name: string): SageMakerEndpointConfig {
    const config = this.endpointConfigs.get(key(name));
    if (config === undefined) {
      throw validation(`Could not find endpoint configuration "${this.arnGuess('endpoint-config', name)}".`);
    }
    return config;
  }

  // ---------------------------------------------------------------------------------- transform jobs

  private createTransformJob(region: string, input: Record<string, unknown>): unknown {
    const name = required(input, 'TransformJobName');
    if (this.transformJobs.has(key(name))) {
      throw validation(
        `Job name must be unique within an AWS account and region, and a job with this name already exists (${name})`,
      );
    }
    const modelName = required(input, 'ModelName');
    this.modelSource(modelName);
    const payload = num(input, 'MaxPayloadInMB') ?? 6;
    const concurrency = num(input, 'MaxConcurrentTransforms') ?? 1;
    if (payload * concurrency > 100) {
      throw validation(
        `The value for MaxConcurrentTransforms (${concurrency}) multiplied by MaxPayloadInMB (${payload}) exceeds the limit of 100 MB.`,
      );
    }
    const arn = `arn:aws:sagemaker:${region}:${ACCOUNT_ID}:transform-job/${name.toLowerCase()}`;
    const now = Date.now();
    const job: TransformJob = {
      name,
      arn,
      status: 'InProgress',
      created: now,
      modified: now,
      request: input,
    };
    this.transformJobs.set(key(name), job);
    this.tags.set(arn, tagMap(list(input['Tags'])));
    const failure = this.faults.takeJobFailure(name);
    this.timers.later(() => this.runTransform(job, failure));
    return { TransformJobArn: arn };
  }

  private async runTransform(job: TransformJob, failure: string | undefined): Promise<void> {
    if (job.status !== 'InProgress') return;
    let reason = failure;
    if (reason === undefined) {
      try {
        await this.transform(job);
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
    }
    if (job.status !== 'InProgress') return;
    job.status = reason === undefined ? 'Completed' : 'Failed';
    if (reason !== undefined) job.failureReason = reason.slice(0, FAILURE_REASON_MAX);
    job.ended = job.modified = Date.now();
  }

  /** Runs the job against the model's container (transform-runner.ts). */
  private async transform(job: TransformJob): Promise<void> {
    try {
      await runTransform(this.s3, this.containers, {
        request: job.request,
        source: this.modelSource(str(job.request, 'ModelName') ?? ''),
        name: job.name,
        healthTimeoutMs: this.timeouts.healthCheckMs,
        onStarted: (container) => {
          job.container = container;
        },
      });
    } catch (error) {
      if (error instanceof ContainerFailure) {
        throw new Error(`ClientError: the model container did not start: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      delete job.container;
    }
  }

  private describeTransformJob(name: string): unknown {
    const job = this.transformJobs.get(key(name));
    if (job === undefined)
      throw new AwsError('ResourceNotFound', `Could not find job to update with name ${name}`);
    const { Tags: _tags, ...rest } = job.request;
    return {
      ...rest,
      TransformJobArn: job.arn,
      TransformJobStatus: job.status,
      ...(job.failureReason === undefined ? {} : { FailureReason: job.failureReason }),
      CreationTime: epochSeconds(job.created),
      ...(job.ended === undefined ? {} : { TransformEndTime: epochSeconds(job.ended) }),
    };
  }

  private stopTransformJob(name: string): void {
    const job = this.transformJobs.get(key(name));
    if (job === undefined)
      throw new AwsError('ResourceNotFound', `Could not find job to update with name ${name}`);
    if (job.status !== 'InProgress') return;
    job.status = 'Stopping';
    this.timers.later(async () => {
      await job.container?.stop();
      job.status = 'Stopped';
      job.ended = job.modified = Date.now();
    });
  }

  // ---------------------------------------------------------------------------------------- tags

  private addTags(arn: string, tags: unknown[]): unknown[] {
    const current = this.tagsOf(arn);
    Object.assign(current, tagMap(tags));
    if (Object.keys(current).length > 50) throw validation('Too many tags: a resource can have at most 50.');
    return tags;
  }

  private listTags(input: Record<string, unknown>): unknown {
    const tags = Object.entries(this.tagsOf(required(input, 'ResourceArn'))).map(([Key, Value]) => ({
      Key,
      Value,
    }));
    return { Tags: tags };
  }

  private tagsOf(arn: string): Record<string, string> {
    const tags = this.tags.get(arn);
    if (tags === undefined) throw validation(`Resource ${arn} does not exist.`);
    return tags;
  }

  // ------------------------------------------------------------------------------------- helpers

  private deleteNamed<T extends { arn: string }>(map: Map<string, T>, name: string, what: string): void {
    const item = map.get(key(name));
    if (item === undefined) {
      throw validation(
        `Could not find ${what} "${this.arnGuess(what === 'model' ? 'model' : 'endpoint-config', name)}".`,
      );
    }
    map.delete(key(name));
    this.tags.delete(item.arn);
  }

  private page<T extends { name: string; created: number }>(
    input: Record<string, unknown>,
    items: T[],
    field: string,
    render: (item: T) => unknown,
  ): unknown {
    const contains = str(input, 'NameContains')?.toLowerCase();
    const filtered = items
      .filter((i) => contains === undefined || i.name.toLowerCase().includes(contains))
      .sort((a, b) =>
        str(input, 'SortOrder') === 'Ascending' ? a.created - b.created : b.created - a.created,
      );
    const start = Number(str(input, 'NextToken') ?? 0);
    const size = num(input, 'MaxResults') ?? PAGE;
    const page = filtered.slice(start, start + size);
    const next = start + size < filtered.length ? String(start + size) : undefined;
    return { [field]: page.map(render), ...(next === undefined ? {} : { NextToken: next }) };
  }

  private arnGuess(kind: string, name: string, region = 'us-east-1'): string {
    return `arn:aws:sagemaker:${region}:${ACCOUNT_ID}:${kind}/${name.toLowerCase()}`;
  }
}

function key(name: string): string {
  return name.toLowerCase();
}

function required(input: Record<string, unknown>, name: string): string {
  const value = str(input, name);
  if (value === undefined)
    throw validation(
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

function tagMap(tags: unknown[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags.map(obj)) map[String(tag['Key'])] = String(tag['Value'] ?? '');
  return map;
}

async function stopAll(containers: Map<string, ServingContainer> | undefined): Promise<void> {
  await Promise.all([...(containers?.values() ?? [])].map((c) => c.stop()));
}
