import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { Timers } from '../aws/timers.js';
import { GcpFaults } from './faults.js';
import { GcsFake } from './gcs-fake.js';
import { ImageRegistry, type ContainerImage } from '../shared/containers.js';
import { ContainerError, VertexContainers } from './model-containers.js';
import type { ModelContainerSource, ServingContainer, VertexContainerTiming } from './model-containers.js';
import { fromValue, missingRequired, packAny, TO_OBJECT, toValue, V1, vertexRoot } from './protos.js';

export interface VertexEmulatorOptions {
  /** Time a long-running operation takes, and each batch job state transition (default 30 ms). */
  operationMs?: number;
  /** GCS buckets that exist from the start. */
  buckets?: readonly string[];
  /**
   * The container registries (Artifact Registry) the emulated Vertex pulls model images from, by reference
   * (a test pushes the serving image into it); also `emulator.images`.
   */
  images?: ImageRegistry;
  /** Liveness probe, health checks and deployment timeout of model containers (real values by default). */
  containers?: VertexContainerTiming;
}

/** A message as plain object (the protos' camelCase field names). */
export type Obj = Record<string, unknown>;

/** A request refused by the emulator, with the gRPC status code the real service would answer. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

interface StoredOperation {
  name: string;
  method: string;
  done: boolean;
  metadata: Obj;
  response?: Obj;
  error?: { code: number; message: string };
}

type Handler = (request: Obj, bytes: number) => Promise<Obj> | Obj;

const SERVICES = ['ModelService', 'EndpointService', 'PredictionService', 'JobService'] as const;
const WRITE = /^(Upload|Delete|Create|Deploy|Undeploy|Update|Mutate|Cancel)/;
const PARENT = /^projects\/([^/]+)\/locations\/([^/]+)$/;
const MIB = 1024 * 1024;
/** Online prediction request limits: shared public endpoints, and dedicated ones. */
export const SHARED_PREDICT_LIMIT = 1.5 * MIB;
export const DEDICATED_PREDICT_LIMIT = 10 * MIB;

/** Long-running methods: their metadata and response types. */
const LRO: Record<string, { metadata: string; response: string }> = {
  UploadModel: { metadata: `${V1}.UploadModelOperationMetadata`, response: `${V1}.UploadModelResponse` },
  DeleteModel: { metadata: `${V1}.DeleteOperationMetadata`, response: 'google.protobuf.Empty' },
  CreateEndpoint: { metadata: `${V1}.CreateEndpointOperationMetadata`, response: `${V1}.Endpoint` },
  DeleteEndpoint: { metadata: `${V1}.DeleteOperationMetadata`, response: 'google.protobuf.Empty' },
  DeployModel: { metadata: `${V1}.DeployModelOperationMetadata`, response: `${V1}.DeployModelResponse` },
  MutateDeployedModel: {
    metadata: `${V1}.MutateDeployedModelOperationMetadata`,
    response: `${V1}.MutateDeployedModelResponse`,
  },
  UndeployModel: {
    metadata: `${V1}.UndeployModelOperationMetadata`,
    response: `${V1}.UndeployModelResponse`,
  },
  DeleteBatchPredictionJob: { metadata: `${V1}.DeleteOperationMetadata`, response: 'google.protobuf.Empty' },
};

/**
 * A stateful Vertex AI emulator over gRPC on 127.0.0.1, built from the .proto files the npm packages ship:
 * ModelService, EndpointService, PredictionService, JobService and google.longrunning.Operations. Requests
 * are checked against the protos' `field_behavior = REQUIRED` annotations; long-running operations finish
 * after `operationMs` and are read through GetOperation; predictions and batch prediction jobs run the
 * deployed ONNX model with the modelport runtime. A fake GCS JSON API serves artifacts and batch data.
 */
export class VertexEmulator {
  readonly faults = new GcpFaults();
  readonly gcs: GcsFake;
  readonly models = new Map<string, Obj>();
  readonly endpoints = new Map<string, Obj>();
  readonly batchJobs = new Map<string, Obj>();
  readonly operations = new Map<string, StoredOperation>();
  /** Calls per `Service.Method` (GCS calls are counted by the fake itself). */
  readonly calls = new Map<string, number>();
  /** Requests that broke the protos' required fields (a provider bug): tests assert there are none. */
  readonly violations: string[] = [];
  private readonly root = vertexRoot();
  private readonly timers: Timers;
  private readonly handlers: Record<string, Handler>;
  private grpcServer: grpc.Server | undefined;
  private httpServer: HttpServer | undefined;
  private containers: VertexContainers | undefined;
  private readonly containerTiming: VertexContainerTiming;
  /** The image each Model ingested at UploadModel, by model name. */
  private readonly ingested = new Map<string, ContainerImage>();
  /** The running container of each deployed model, by DeployedModel.id. */
  readonly serving = new Map<string, ServingContainer>();
  /** Times a deployed model's container was restarted after it exited, by DeployedModel.id. */
  readonly restarts = new Map<string, number>();
  /** The images model containers are pulled from (Artifact Registry). */
  readonly images: ImageRegistry;
  private workDir: string | undefined;
  private nextId = 1000;
  /** host:port of the gRPC server. */
  address = '';
  /** Base URL of the fake GCS (http://127.0.0.1:port). */
  gcsUrl = '';

  constructor(options: VertexEmulatorOptions = {}) {
    this.timers = new Timers(options.operationMs ?? 30);
    this.gcs = new GcsFake(options.buckets ?? []);
    this.images = options.images ?? new ImageRegistry();
    this.containerTiming = options.containers ?? {};
    this.handlers = {
      'ModelService.UploadModel': (r) => this.uploadModel(r),
      'ModelService.GetModel': (r) => this.getModel(str(r, 'name')),
      'ModelService.ListModels': (r) => this.list(r, this.models, 'models', 'models'),
      'ModelService.DeleteModel': (r) => this.deleteModel(str(r, 'name')),
      'EndpointService.CreateEndpoint': (r) => this.createEndpoint(r),
      'EndpointService.GetEndpoint': (r) => this.getEndpoint(str(r, 'name')),
      'EndpointService.ListEndpoints': (r) => this.list(r, this.endpoints, 'endpoints', 'endpoints'),
      'EndpointService.UpdateEndpoint': (r) => this.updateEndpoint(r),
      'EndpointService.DeleteEndpoint': (r) => this.deleteEndpoint(str(r, 'name')),
      'EndpointService.DeployModel': (r) => this.deployModel(r),
      'EndpointService.UndeployModel': (r) => this.undeployModel(r),
      'EndpointService.MutateDeployedModel': (r) => this.mutateDeployedModel(r),
      'PredictionService.Predict': (r, bytes) => this.predict(r, bytes),
      'JobService.CreateBatchPredictionJob': (r) => this.createBatchJob(r),
      'JobService.GetBatchPredictionJob': (r) => this.getBatchJob(str(r, 'name')),
      'JobService.ListBatchPredictionJobs': (r) =>
        this.list(r, this.batchJobs, 'batchPredictionJobs', 'batchPredictionJobs'),
      'JobService.DeleteBatchPredictionJob': (r) => this.deleteBatchJob(str(r, 'name')),
      'JobService.CancelBatchPredictionJob': (r) => this.cancelBatchJob(str(r, 'name')),
      'Operations.GetOperation': (r) => this.getOperation(str(r, 'name')),
    };
  }

  async start(): Promise<{ address: string; gcsUrl: string }> {
    this.workDir = await mkdtemp(join(tmpdir(), 'modelport-vertex-'));
    this.containers = new VertexContainers(this.gcs, () => this.gcsUrl, this.workDir, this.containerTiming);
    const server = new grpc.Server({
      'grpc.max_receive_message_length': 64 * MIB,
      'grpc.max_send_message_length': 64 * MIB,
    });
    for (const name of SERVICES) this.addService(server, this.root.lookupService(`${V1}.${name}`));
    this.addService(server, this.root.lookupService('google.longrunning.Operations'));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
        error === null ? resolve(p) : reject(error),
      ),
    );
    this.grpcServer = server;
    this.address = `127.0.0.1:${port}`;
    const http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        if (url.pathname.startsWith('/computeMetadata/')) return metadataServer(req, res, url);
        void (async () => {
          await this.delay();
          await this.faults.runHooks(
            { service: 'storage', method: `${req.method ?? 'GET'} ${url.pathname}`, request: {} },
            'before',
          );
          await this.gcs.handle(req, res, url, Buffer.concat(chunks));
        })().catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500).end(String(error));
        });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    this.httpServer = http;
    this.gcsUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    return { address: this.address, gcsUrl: this.gcsUrl };
  }

  async stop(): Promise<void> {
    this.timers.stop();
    await new Promise<void>((resolve) => {
      if (this.grpcServer === undefined) return resolve();
      this.grpcServer.tryShutdown(() => resolve());
      setTimeout(() => {
        this.grpcServer?.forceShutdown();
        resolve();
      }, 500).unref();
    });
    if (this.httpServer !== undefined) {
      this.httpServer.closeAllConnections();
      await new Promise<void>((resolve) => this.httpServer?.close(() => resolve()));
    }
    this.serving.clear();
    await this.containers?.stopAll();
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true });
  }

  /** Model containers still running (deployed models and batch prediction replicas). */
  runningContainers(): number {
    return this.containers?.running() ?? 0;
  }

  /** Write calls made to Vertex and GCS (creates, deploys, updates, deletes, uploads). */
  writeCalls(): number {
    let n = this.gcs.writes;
    for (const [key, count] of this.calls) if (WRITE.test(key.split('.')[1] ?? '')) n += count;
    return n;
  }

  totalCalls(): number {
    let n = this.gcs.calls;
    for (const count of this.calls.values()) n += count;
    return n;
  }

  /** Fails the test when a request broke the protos' required fields. */
  assertNoViolations(): void {
    if (this.violations.length > 0)
      throw new Error(`Vertex requests broke the protos:\n${this.violations.join('\n')}`);
  }

  // ------------------------------------------------------------------------------------------ wiring

  private addService(server: grpc.Server, service: protobuf.Service): void {
    const definition: Record<string, grpc.MethodDefinition<{ message: Obj; bytes: number }, Obj>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of service.methodsArray) {
      const requestType = method.resolvedRequestType as protobuf.Type;
      const responseType = method.resolvedResponseType as protobuf.Type;
      definition[method.name] = {
        path: `/${service.fullName.slice(1)}/${method.name}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: { message: Obj }) =>
          Buffer.from(requestType.encode(requestType.fromObject(value.message)).finish()),
        requestDeserialize: (bytes: Buffer) => ({
          message: requestType.toObject(requestType.decode(bytes), TO_OBJECT),
          bytes: bytes.length,
        }),
        responseSerialize: (value: Obj) =>
          Buffer.from(responseType.encode(responseType.fromObject(value)).finish()),
        responseDeserialize: (bytes: Buffer) => responseType.toObject(responseType.decode(bytes), TO_OBJECT),
      };
      implementation[method.name] = (
        call: grpc.ServerUnaryCall<{ message: Obj; bytes: number }, Obj>,
        callback: grpc.sendUnaryData<Obj>,
      ) => {
        this.dispatch(service.name, method.name, requestType, call.request.message, call.request.bytes).then(
          (response) => callback(null, response),
          (error: unknown) => {
            const e =
              error instanceof RpcError
                ? error
                : new RpcError(grpc.status.INTERNAL, (error as Error).message);
            callback({ code: e.code, details: e.message, name: 'RpcError', message: e.message });
          },
        );
      };
    }
    server.addService(definition, implementation);
  }

  private async dispatch(
    service: string,
    method: string,
    type: protobuf.Type,
    request: Obj,
    bytes: number,
  ): Promise<Obj> {
    const key = `${service}.${method}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    await this.delay();
    await this.faults.runHooks({ service, method, request }, 'before');
    const code = this.faults.takeCode(method);
    if (code !== undefined) {
      throw new RpcError(
        code,
        code === grpc.status.RESOURCE_EXHAUSTED
          ? 'Quota exceeded for aiplatform.googleapis.com (injected)'
          : 'The service is currently unavailable (injected)',
      );
    }
    const missing = missingRequired(type, request);
    if (missing.length > 0) {
      const message = `${method}: required field(s) not set: ${missing.join(', ')}`;
      this.violations.push(message);
      throw new RpcError(grpc.status.INVALID_ARGUMENT, message);
    }
    const handler = this.handlers[key];
    if (handler === undefined)
      throw new RpcError(grpc.status.UNIMPLEMENTED, `the emulator does not implement ${key}`);
    const response = await handler(request, bytes);
    await this.faults.runHooks({ service, method, request }, 'after');
    return response;
  }

  private async delay(): Promise<void> {
    await this.faults.waitLatency();
  }

  private newId(): string {
    return String(this.nextId++);
  }

  /** Starts a long-running operation whose `work` runs after `operationMs`. */
  private operation(parent: string, method: string, work: () => Promise<Obj> | Obj): Obj {
    const types = LRO[method] as { metadata: string; response: string };
    const now = timestamp();
    const op: StoredOperation = {
      name: `${parent}/operations/${this.newId()}`,
      method,
      done: false,
      metadata: packAny(this.root, types.metadata, { genericMetadata: { createTime: now, updateTime: now } }),
    };
    this.operations.set(op.name, op);
    this.timers.later(async () => {
      const failure = this.faults.takeOperationFailure(method);
      try {
        if (failure !== undefined) throw new RpcError(grpc.status.FAILED_PRECONDITION, failure);
        op.response = packAny(this.root, types.response, await work());
      } catch (error) {
        const e =
          error instanceof RpcError ? error : new RpcError(grpc.status.INTERNAL, (error as Error).message);
        op.error = { code: e.code, message: e.message };
      }
      op.done = true;
    });
    return operationMessage(op);
  }

  private getOperation(name: string): Obj {
    const op = this.operations.get(name);
    if (op === undefined) throw new RpcError(grpc.status.NOT_FOUND, `Operation ${name} not found.`);
    return operationMessage(op);
  }

  private list(request: Obj, store: Map<string, Obj>, collection: string, field: string): Obj {
    const parent = parentOf(request);
    const filter = labelFilter(str(request, 'filter'));
    const size = Number(request['pageSize'] ?? 0) || 100;
    const offset = Number(str(request, 'pageToken') || 0);
    const all = [...store.values()].filter(
      (o) =>
        String(o['name']).startsWith(`${parent}/${collection}/`) &&
        filter(o['labels'] as Record<string, string> | undefined),
    );
    const page = all
      .slice(offset, offset + size)
      .map((o) => (collection === 'models' ? this.withDeployments(o) : o));
    return { [field]: page, ...(offset + size < all.length ? { nextPageToken: String(offset + size) } : {}) };
  }

  // ------------------------------------------------------------------------------------------ models

  private uploadModel(request: Obj): Obj {
    const parent = parentOf(request);
    const model = request['model'] as Obj;
    const id = str(request, 'modelId') || this.newId();
    checkId(id, 'model_id');
    checkLabels(model['labels']);
    const name = `${parent}/models/${id}`;
    if (this.models.has(name))
      throw new RpcError(grpc.status.ALREADY_EXISTS, `Model ${name} already exists.`);
    const container = model['containerSpec'] as Obj | undefined;
    if (container === undefined || str(container, 'imageUri') === '') {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        'Model.container_spec.image_uri is required for a custom model.',
      );
    }
    const imageUri = str(container, 'imageUri');
    return this.operation(parent, 'UploadModel', () => {
      // The image is ingested here and its reference never used again (ModelContainerSpec.image_uri).
      const image = this.images.get(imageUri);
      if (image === undefined) {
        throw new RpcError(
          grpc.status.INVALID_ARGUMENT,
          `Failed to ingest the container image ${imageUri}: it does not exist in the registry, or the Vertex AI Service Agent cannot read it.`,
        );
      }
      this.ingested.set(name, image);
      const now = timestamp();
      this.models.set(name, {
        ...model,
        name,
        versionId: '1',
        createTime: now,
        updateTime: now,
        versionCreateTime: now,
        etag: this.newId(),
      });
      return { model: name, modelVersionId: '1' };
    });
  }

  private getModel(name: string): Obj {
    const model = this.models.get(name.replace(/@.*$/, ''));
    if (model === undefined) throw new RpcError(grpc.status.NOT_FOUND, `Model ${name} is not found.`);
    return this.withDeployments(model);
  }

  private withDeployments(model: Obj): Obj {
    const deployed = [...this.endpoints.values()].flatMap((e) =>
      ((e['deployedModels'] ?? []) as Obj[])
        .filter((d) => d['model'] === model['name'])
        .map((d) => ({ endpoint: e['name'], deployedModelId: d['id'] })),
    );
    return deployed.length === 0 ? model : { ...model, deployedModels: deployed };
  }

  private deleteModel(name: string): Obj {
    this.getModel(name);
    const deployedOn = [...this.endpoints.values()].find((e) =>
      ((e['deployedModels'] ?? []) as Obj[]).some((d) => d['model'] === name),
    );
    if (deployedOn !== undefined) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `The Model "${name}" is deployed or being deployed at the following Endpoint(s): ${String(deployedOn['name'])}.`,
      );
    }
    return this.operation(name.replace(/\/models\/.*$/, ''), 'DeleteModel', () => {
      this.models.delete(name);
      this.ingested.delete(name);
      return {};
    });
  }

  // ------------------------------------------------------------------------------------------ endpoints

  private createEndpoint(request: Obj): Obj {
    const parent = parentOf(request);
    const endpoint = request['endpoint'] as Obj;
    const id = str(request, 'endpointId') || this.newId();
    checkId(id, 'endpoint_id');
    checkLabels(endpoint['labels']);
    const name = `${parent}/endpoints/${id}`;
    if (this.endpoints.has(name))
      throw new RpcError(grpc.status.ALREADY_EXISTS, `Endpoint ${name} already exists.`);
    return this.operation(parent, 'CreateEndpoint', () => {
      const now = timestamp();
      const location = PARENT.exec(parent)?.[2] ?? '';
      const stored: Obj = {
        ...endpoint,
        name,
        deployedModels: [],
        trafficSplit: {},
        createTime: now,
        updateTime: now,
        etag: this.newId(),
        ...(endpoint['dedicatedEndpointEnabled'] === true
          ? { dedicatedEndpointDns: `${id}.${location}-123456789012.prediction.vertexai.goog` }
          : {}),
      };
      this.endpoints.set(name, stored);
      return stored;
    });
  }

  private getEndpoint(name: string): Obj {
    const endpoint = this.endpoints.get(name);
    if (endpoint === undefined) throw new RpcError(grpc.status.NOT_FOUND, `Endpoint ${name} is not found.`);
    return endpoint;
  }

  private updateEndpoint(request: Obj): Obj {
    const update = request['endpoint'] as Obj;
    const current = this.getEndpoint(str(update, 'name'));
    const paths = (((request['updateMask'] as Obj | undefined)?.['paths'] ?? []) as string[]).map((p) =>
      p.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
    );
    if (paths.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'update_mask is required.');
    for (const path of paths) {
      if (!['trafficSplit', 'labels', 'displayName', 'description'].includes(path)) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `Updating ${path} is not supported.`);
      }
    }
    if (paths.includes('trafficSplit')) {
      checkSplit((update['trafficSplit'] ?? {}) as Record<string, number>, deployedIds(current));
    }
    if (paths.includes('labels')) checkLabels(update['labels']);
    for (const path of paths)
      current[path] = update[path] ?? (path === 'trafficSplit' || path === 'labels' ? {} : '');
    current['updateTime'] = timestamp();
    current['etag'] = this.newId();
    return current;
  }

  private deleteEndpoint(name: string): Obj {
    const endpoint = this.getEndpoint(name);
    if (((endpoint['deployedModels'] ?? []) as Obj[]).length > 0) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `Endpoint ${name} has deployed models; undeploy them first.`,
      );
    }
    return this.operation(name.replace(/\/endpoints\/.*$/, ''), 'DeleteEndpoint', () => {
      this.endpoints.delete(name);
      return {};
    });
  }

  private deployModel(request: Obj): Obj {
    const endpointName = str(request, 'endpoint');
    const endpoint = this.getEndpoint(endpointName);
    const deployed = request['deployedModel'] as Obj;
    const model = this.models.get(str(deployed, 'model'));
    if (model === undefined)
      throw new RpcError(grpc.status.NOT_FOUND, `Model ${str(deployed, 'model')} is not found.`);
    const resources = deployed['dedicatedResources'] as Obj | undefined;
    if (resources === undefined) {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        'Model requires dedicated_resources: custom-container models support only DEDICATED_RESOURCES.',
      );
    }
    checkResources(resources);
    const split = (request['trafficSplit'] ?? {}) as Record<string, number>;
    if (Object.keys(split).length > 0) checkSplit(split, [...deployedIds(endpoint), '0']);
    return this.operation(endpointName.replace(/\/endpoints\/.*$/, ''), 'DeployModel', async () => {
      const id = this.newId();
      const serving = await this.startContainer(model, {
        deployedModelId: id,
        endpointId: endpointName.split('/').pop() ?? '',
        ...placementOf(endpointName, resources),
      });
      const stored: Obj = { ...deployed, id, createTime: timestamp(), modelVersionId: '1' };
      let current: Obj;
      try {
        current = this.getEndpoint(endpointName);
      } catch (error) {
        await serving.container.stop(2_000);
        throw error;
      }
      this.keepRunning(id, serving, model, endpointName, resources);
      current['deployedModels'] = [...((current['deployedModels'] ?? []) as Obj[]), stored];
      if (Object.keys(split).length > 0) {
        current['trafficSplit'] = Object.fromEntries(
          Object.entries(split).map(([k, v]) => [k === '0' ? id : k, v]),
        );
      }
      current['updateTime'] = timestamp();
      return { deployedModel: stored };
    });
  }

  private undeployModel(request: Obj): Obj {
    const endpointName = str(request, 'endpoint');
    const endpoint = this.getEndpoint(endpointName);
    const id = str(request, 'deployedModelId');
    if (!deployedIds(endpoint).includes(id)) {
      throw new RpcError(grpc.status.NOT_FOUND, `DeployedModel ${id} is not found on ${endpointName}.`);
    }
    const split = (request['trafficSplit'] ?? {}) as Record<string, number>;
    const remaining = deployedIds(endpoint).filter((d) => d !== id);
    if (Object.keys(split).length > 0) checkSplit(split, remaining);
    else if (remaining.length > 0 && ((endpoint['trafficSplit'] as Record<string, number>)[id] ?? 0) > 0) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `DeployedModel ${id} still receives traffic; move its traffic (traffic_split) before undeploying it.`,
      );
    }
    return this.operation(endpointName.replace(/\/endpoints\/.*$/, ''), 'UndeployModel', async () => {
      const current = this.getEndpoint(endpointName);
      current['deployedModels'] = ((current['deployedModels'] ?? []) as Obj[]).filter((d) => d['id'] !== id);
      const traffic = { ...((current['trafficSplit'] ?? {}) as Record<string, number>) };
      delete traffic[id];
      current['trafficSplit'] = Object.keys(split).length > 0 ? split : traffic;
      current['updateTime'] = timestamp();
      const serving = this.serving.get(id);
      this.serving.delete(id);
      await serving?.container.stop(2_000);
      return {};
    });
  }

  /** Replica counts and autoscaling metrics of a deployed model change in place (nothing else may). */
  private mutateDeployedModel(request: Obj): Obj {
    const endpointName = str(request, 'endpoint');
    const endpoint = this.getEndpoint(endpointName);
    const update = request['deployedModel'] as Obj;
    const id = str(update, 'id');
    const current = ((endpoint['deployedModels'] ?? []) as Obj[]).find((d) => d['id'] === id);
    if (current === undefined) {
      throw new RpcError(grpc.status.NOT_FOUND, `DeployedModel ${id} is not found on ${endpointName}.`);
    }
    const allowed: Record<string, string> = {
      'dedicated_resources.min_replica_count': 'minReplicaCount',
      'dedicated_resources.max_replica_count': 'maxReplicaCount',
      'dedicated_resources.autoscaling_metric_specs': 'autoscalingMetricSpecs',
    };
    const paths = ((request['updateMask'] as Obj | undefined)?.['paths'] ?? []) as string[];
    if (paths.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'update_mask is required.');
    const fields = paths.map((path) => {
      const snake = path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      const field = allowed[snake];
      if (field === undefined) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `${path} cannot be mutated on a deployed model.`);
      }
      return field;
    });
    const wanted = (update['dedicatedResources'] ?? {}) as Obj;
    const next = { ...((current['dedicatedResources'] ?? {}) as Obj) };
    for (const field of fields) next[field] = wanted[field] ?? (field === 'autoscalingMetricSpecs' ? [] : 0);
    checkResources(next);
    return this.operation(endpointName.replace(/\/endpoints\/.*$/, ''), 'MutateDeployedModel', () => {
      current['dedicatedResources'] = next;
      return { deployedModel: current };
    });
  }

  // ------------------------------------------------------------------------------------------ predict

  private async predict(request: Obj, bytes: number): Promise<Obj> {
    const endpoint = this.getEndpoint(str(request, 'endpoint'));
    const limit =
      endpoint['dedicatedEndpointEnabled'] === true ? DEDICATED_PREDICT_LIMIT : SHARED_PREDICT_LIMIT;
    if (bytes > limit) {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        `Request payload size (${bytes} bytes) exceeds the limit of ${limit} bytes.`,
      );
    }
    const split = (endpoint['trafficSplit'] ?? {}) as Record<string, number>;
    const id = pickByWeight(split);
    const deployed = ((endpoint['deployedModels'] ?? []) as Obj[]).find((d) => d['id'] === id);
    if (deployed === undefined) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `Endpoint ${str(request, 'endpoint')} has no deployed model receiving traffic.`,
      );
    }
    const model = this.models.get(str(deployed, 'model'));
    if (model === undefined)
      throw new RpcError(grpc.status.FAILED_PRECONDITION, 'The deployed model is gone.');
    const serving = this.serving.get(String(id));
    if (serving === undefined || serving.container.exit() !== undefined) {
      throw new RpcError(
        grpc.status.UNAVAILABLE,
        `The model container of DeployedModel ${String(id)} is not running.`,
      );
    }
    const instances = ((request['instances'] ?? []) as unknown[]).map(fromValue);
    const parameters = request['parameters'] === undefined ? undefined : fromValue(request['parameters']);
    let answer: { status: number; body: unknown };
    try {
      answer = await this.containers!.predict(serving, instances, parameters);
    } catch (error) {
      throw new RpcError(
        grpc.status.UNAVAILABLE,
        `The model container did not answer: ${(error as Error).message}`,
      );
    }
    const predictions = (answer.body as Obj | null)?.['predictions'];
    if (answer.status < 200 || answer.status > 299 || !Array.isArray(predictions)) {
      const detail = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      throw new RpcError(
        answer.status === 400 || answer.status === 413 ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL,
        answer.status >= 200 && answer.status <= 299
          ? `Prediction failed: the model container's response has no "predictions" list: ${detail}`
          : `{"error": ${JSON.stringify(detail)}} (the model container answered HTTP ${answer.status})`,
      );
    }
    return {
      predictions: predictions.map(toValue),
      deployedModelId: id,
      model: model['name'],
      modelDisplayName: model['displayName'],
      modelVersionId: '1',
    };
  }

  // ------------------------------------------------------------------------------------------ batch prediction

  private createBatchJob(request: Obj): Obj {
    const parent = parentOf(request);
    const job = request['batchPredictionJob'] as Obj;
    checkLabels(job['labels']);
    const model = this.models.get(str(job, 'model').replace(/@.*$/, ''));
    if (model === undefined)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `Model ${str(job, 'model')} is not found.`);
    const input = job['inputConfig'] as Obj;
    const format = str(input, 'instancesFormat');
    if (!['jsonl', 'csv'].includes(format)) {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        `instances_format "${format}" is not supported by this Model (jsonl, csv).`,
      );
    }
    const uris = ((input['gcsSource'] as Obj | undefined)?.['uris'] ?? []) as string[];
    if (uris.length === 0)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'input_config.gcs_source.uris is required.');
    const output = job['outputConfig'] as Obj;
    const prefix = str((output['gcsDestination'] ?? {}) as Obj, 'outputUriPrefix');
    if (prefix === '' || str(output, 'predictionsFormat') !== 'jsonl') {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        'output_config needs gcs_destination.output_uri_prefix and predictions_format jsonl.',
      );
    }
    const resources = job['dedicatedResources'] as Obj | undefined;
    if (resources === undefined)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'dedicated_resources is required for this Model.');
    if (str((resources['machineSpec'] ?? {}) as Obj, 'machineType') === '') {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        'dedicated_resources.machine_spec.machine_type is required.',
      );
    }
    const name = `${parent}/batchPredictionJobs/${this.newId()}`;
    const now = timestamp();
    const stored: Obj = { ...job, name, state: 'JOB_STATE_PENDING', createTime: now, updateTime: now };
    this.batchJobs.set(name, stored);
    this.timers.later(() => {
      if (stored['state'] !== 'JOB_STATE_PENDING') return;
      stored['state'] = 'JOB_STATE_RUNNING';
      stored['startTime'] = timestamp();
      this.timers.later(() => this.runBatchJob(stored, model));
    });
    return stored;
  }

  /**
   * Runs a batch prediction job as Vertex does for a custom container: the model's container on each
   * replica (started and probed as for a deployment), batches of `batchSize` instances POSTed to its
   * predict route, and in `prediction-<model>-<time>/` one `prediction.results-0000R-of-0000N` file per
   * replica ({"instance", "prediction"} lines) and one `prediction.errors_stats-…` file. Vertex does not keep
   * the input order across or within files; the emulator writes each file's lines in reverse, so a reader
   * that relies on the order fails here.
   */
  private async runBatchJob(job: Obj, model: Obj): Promise<void> {
    if (job['state'] !== 'JOB_STATE_RUNNING') return;
    // The job ends once its containers are stopped.
    let ending: { state: string; extra: Obj } | undefined;
    const finish = (state: string, extra: Obj): void => {
      ending = { state, extra };
    };
    const end = (): void => {
      if (ending === undefined || job['state'] !== 'JOB_STATE_RUNNING') return;
      Object.assign(job, ending.extra, {
        state: ending.state,
        endTime: timestamp(),
        updateTime: timestamp(),
      });
    };
    const failure = this.faults.takeJobFailure(str(job, 'displayName'));
    if (failure !== undefined) {
      finish('JOB_STATE_FAILED', { error: { code: grpc.status.INTERNAL, message: failure } });
      return end();
    }
    const started: ServingContainer[] = [];
    try {
      const input = job['inputConfig'] as Obj;
      const format = str(input, 'instancesFormat');
      const instances: unknown[] = [];
      const unreadable: string[] = [];
      for (const uri of ((input['gcsSource'] as Obj)['uris'] ?? []) as string[]) {
        for (const object of this.gcsMatches(uri)) {
          const parsed = parseInstances(object.data.toString('utf8'), format);
          instances.push(...parsed.instances);
          unreadable.push(...parsed.errors.map((e) => `gs://${object.bucket}/${object.name}: ${e}`));
        }
      }
      const resources = (job['dedicatedResources'] ?? {}) as Obj;
      const replicas = Math.max(
        1,
        Math.min(
          Number(resources['startingReplicaCount'] ?? 0) || Number(resources['maxReplicaCount'] ?? 0) || 1,
          Math.max(1, Math.ceil(instances.length / 1)),
        ),
      );
      const placement = placementOf(str(job, 'name'), resources);
      const jobId = str(job, 'name').split('/').pop() ?? '';
      const servings = await Promise.all(
        Array.from({ length: replicas }, (_, r) =>
          this.startContainer(model, { deployedModelId: `${jobId}${r}`, ...placement }),
        ),
      );
      started.push(...servings);
      const batchSize = Number(((job['manualBatchTuningParameters'] ?? {}) as Obj)['batchSize'] ?? 0) || 64;
      const results: string[][] = servings.map(() => []);
      const errors = new Map<string, number>();
      for (const e of unreadable) errors.set(e, (errors.get(e) ?? 0) + 1);
      let predicted = 0;
      let failed = unreadable.length;
      await Promise.all(
        servings.map(async (serving, r) => {
          for (let b = r; b * batchSize < instances.length; b += replicas) {
            const chunk = instances.slice(b * batchSize, (b + 1) * batchSize);
            let problem: string | undefined;
            let predictions: unknown[] | undefined;
            try {
              const answer = await this.containers!.predict(serving, chunk);
              const list = (answer.body as Obj | null)?.['predictions'];
              if (answer.status < 200 || answer.status > 299)
                problem = `Post request fails. Cannot get predictions. Error: Non-OK result ${answer.status} (${typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)}) from server.`;
              else if (!Array.isArray(list) || list.length !== chunk.length)
                problem =
                  'Post request fails. Cannot get predictions. Error: Predictions are not in the response or malformed.';
              else predictions = list;
            } catch (error) {
              problem = `Post request fails. Cannot get predictions. Error: ${(error as Error).message}`;
            }
            if (predictions === undefined) {
              errors.set(problem ?? '', (errors.get(problem ?? '') ?? 0) + chunk.length);
              failed += chunk.length;
              continue;
            }
            const lines = results[r] as string[];
            chunk.forEach((instance, k) =>
              lines.push(JSON.stringify({ instance, prediction: predictions[k] })),
            );
            predicted += chunk.length;
          }
        }),
      );
      const destination = str(
        ((job['outputConfig'] as Obj)['gcsDestination'] ?? {}) as Obj,
        'outputUriPrefix',
      ).replace(/\/+$/, '');
      const stamp = new Date().toISOString().replace(/[-:.]/g, '_');
      const dir = `${destination}/prediction-${str(model, 'displayName')}-${stamp}`;
      const where = /^gs:\/\/([^/]+)\/?(.*)$/.exec(dir);
      if (where === null) throw new Error(`output_uri_prefix ${destination} is not a gs:// location`);
      const [bucket, key] = [where[1] as string, where[2] as string];
      const of = String(replicas).padStart(5, '0');
      results.forEach((lines, r) => {
        const shard = String(r).padStart(5, '0');
        this.gcs.put(
          bucket,
          `${key}/prediction.results-${shard}-of-${of}`,
          Buffer.from(
            [...lines]
              .reverse()
              .map((l) => `${l}\n`)
              .join(''),
          ),
          'application/octet-stream',
        );
      });
      this.gcs.put(
        bucket,
        `${key}/prediction.errors_stats-00000-of-00001`,
        Buffer.from([...errors].map(([message, count]) => `('${message}', ${count})\n`).join('')),
        'application/octet-stream',
      );
      const allFailed = predicted === 0 && failed > 0;
      finish(allFailed ? 'JOB_STATE_FAILED' : 'JOB_STATE_SUCCEEDED', {
        outputInfo: { gcsOutputDirectory: dir },
        completionStats: {
          successfulCount: String(predicted),
          failedCount: String(failed),
          incompleteCount: '0',
        },
        ...(allFailed
          ? {
              error: {
                code: grpc.status.INTERNAL,
                message: `Every instance failed; see ${dir}/prediction.errors_stats-00000-of-00001: ${[...errors.keys()][0] ?? ''}`,
              },
            }
          : {}),
      });
    } catch (error) {
      finish('JOB_STATE_FAILED', {
        error: { code: grpc.status.INTERNAL, message: (error as Error).message },
      });
    } finally {
      await Promise.all(started.map((s) => s.container.stop(2_000)));
      end();
    }
  }

  /**
   * A deployed model's container is restarted when it exits (Kubernetes restarts a serving container, and
   * Vertex's liveness probe restarts one whose port closed); until the new one is healthy, predictions
   * fail with UNAVAILABLE. Undeploying (or stopping the emulator) ends it for good.
   */
  private keepRunning(
    id: string,
    serving: ServingContainer,
    model: Obj,
    endpointName: string,
    resources: Obj,
  ): void {
    this.serving.set(id, serving);
    void serving.container.exited.then(async () => {
      if (this.serving.get(id) !== serving || this.workDir === undefined) return;
      try {
        const next = await this.startContainer(model, {
          deployedModelId: id,
          endpointId: endpointName.split('/').pop() ?? '',
          ...placementOf(endpointName, resources),
        });
        if (this.serving.get(id) !== serving) return void (await next.container.stop(2_000));
        this.restarts.set(id, (this.restarts.get(id) ?? 0) + 1);
        this.keepRunning(id, next, model, endpointName, resources);
      } catch {
        // never became ready again: predictions stay UNAVAILABLE
      }
    });
  }

  /** Starts a Model's container for a deployment or a batch replica; Vertex's failure as an RpcError. */
  private async startContainer(
    model: Obj,
    placement: Parameters<VertexContainers['start']>[1],
  ): Promise<ServingContainer> {
    const image = this.ingested.get(str(model, 'name'));
    if (image === undefined || this.containers === undefined)
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `Model ${str(model, 'name')} has no container image.`,
      );
    try {
      return await this.containers.start(containerSourceOf(model, image), placement);
    } catch (error) {
      if (error instanceof ContainerError) throw new RpcError(grpc.status.FAILED_PRECONDITION, error.message);
      throw error;
    }
  }

  private gcsMatches(uri: string) {
    const where = /^gs:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (where === null) throw new Error(`${uri} is not a gs:// URI`);
    const [bucket, path] = [where[1] as string, where[2] as string];
    if (!path.includes('*')) {
      const object = this.gcs.get(bucket, path);
      if (object === undefined) throw new Error(`Input ${uri} does not exist.`);
      return [object];
    }
    const pattern = new RegExp(
      `^${path
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}$`,
    );
    return this.gcs.list(bucket, path.slice(0, path.indexOf('*'))).filter((o) => pattern.test(o.name));
  }

  private getBatchJob(name: string): Obj {
    const job = this.batchJobs.get(name);
    if (job === undefined)
      throw new RpcError(grpc.status.NOT_FOUND, `BatchPredictionJob ${name} is not found.`);
    return job;
  }

  private deleteBatchJob(name: string): Obj {
    const job = this.getBatchJob(name);
    if (['JOB_STATE_PENDING', 'JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING'].includes(str(job, 'state'))) {
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `BatchPredictionJob ${name} is running; cancel it first.`,
      );
    }
    return this.operation(name.replace(/\/batchPredictionJobs\/.*$/, ''), 'DeleteBatchPredictionJob', () => {
      this.batchJobs.delete(name);
      return {};
    });
  }

  private cancelBatchJob(name: string): Obj {
    const job = this.getBatchJob(name);
    if (['JOB_STATE_PENDING', 'JOB_STATE_RUNNING'].includes(str(job, 'state'))) {
      Object.assign(job, { state: 'JOB_STATE_CANCELLED', endTime: timestamp(), updateTime: timestamp() });
    }
    return {};
  }
}

// ---------------------------------------------------------------------------------------------- helpers

/**
 * The GCE metadata server a model container asks for its service account's token (the
 * `Metadata-Flavor: Google` header is required, as on GCE); reached through GCE_METADATA_HOST.
 */
function metadataServer(req: IncomingMessage, res: ServerResponse, url: URL): void {
  if (req.headers['metadata-flavor'] !== 'Google') {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('Missing Metadata-Flavor:Google header.');
    return;
  }
  res.setHeader('metadata-flavor', 'Google');
  if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: 'emulator-token', expires_in: 3599, token_type: 'Bearer' }));
    return;
  }
  if (url.pathname === '/computeMetadata/v1/project/project-id') {
    res.writeHead(200, { 'content-type': 'application/text' }).end('emulated-project');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
}

function str(o: Obj, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : '';
}

function timestamp(): Obj {
  const ms = Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

function operationMessage(op: StoredOperation): Obj {
  return {
    name: op.name,
    done: op.done,
    metadata: op.metadata,
    ...(op.response === undefined ? {} : { response: op.response }),
    ...(op.error === undefined ? {} : { error: op.error }),
  };
}

function parentOf(request: Obj): string {
  const parent = str(request, 'parent');
  if (!PARENT.test(parent))
    throw new RpcError(
      grpc.status.INVALID_ARGUMENT,
      `parent "${parent}" is not projects/{project}/locations/{location}.`,
    );
  return parent;
}

function checkId(id: string, field: string): void {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(id) && !/^[0-9]{1,10}$/.test(id)) {
    throw new RpcError(
      grpc.status.INVALID_ARGUMENT,
      `${field} "${id}" is invalid: a letter then up to 62 of [a-z0-9-], or up to 10 digits.`,
    );
  }
}

/** GCP label rules: ≤ 64 labels; keys start with a lower-case letter; keys and values ≤ 63 of [a-z0-9_-]. */
function checkLabels(labels: unknown): void {
  const entries = Object.entries((labels ?? {}) as Record<string, string>);
  if (entries.length > 64) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'At most 64 labels are allowed.');
  for (const [k, v] of entries) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(k))
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `Label key "${k}" is invalid.`);
    if (!/^[a-z0-9_-]{0,63}$/.test(v))
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `Label value "${v}" of "${k}" is invalid.`);
  }
}

function labelFilter(filter: string): (labels: Record<string, string> | undefined) => boolean {
  if (filter.trim() === '') return () => true;
  const terms = filter.split(/\s+AND\s+/).map((term) => {
    const m = /^labels\.([a-z0-9_-]+)\s*=\s*"?([^"]*)"?$/.exec(term.trim());
    if (m === null)
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        `Unsupported filter term "${term}" (the emulator takes labels.<key>=<value> AND ...).`,
      );
    return [m[1] as string, m[2] as string] as const;
  });
  return (labels) => terms.every(([k, v]) => labels?.[k] === v);
}

function deployedIds(endpoint: Obj): string[] {
  return ((endpoint['deployedModels'] ?? []) as Obj[]).map((d) => String(d['id']));
}

function checkSplit(split: Record<string, number>, allowed: string[]): void {
  const entries = Object.entries(split);
  if (entries.length === 0) return;
  for (const [id, percent] of entries) {
    if (!allowed.includes(id))
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        `traffic_split names ${id}, which is not deployed on the endpoint.`,
      );
    if (!Number.isInteger(percent) || percent < 0 || percent > 100)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `traffic_split percentage ${percent} is invalid.`);
  }
  const sum = entries.reduce((n, [, p]) => n + p, 0);
  if (sum !== 100)
    throw new RpcError(grpc.status.INVALID_ARGUMENT, `The traffic split must add up to 100, not ${sum}.`);
}

const ACCELERATORS = new Set([
  'NVIDIA_TESLA_K80',
  'NVIDIA_TESLA_P100',
  'NVIDIA_TESLA_V100',
  'NVIDIA_TESLA_P4',
  'NVIDIA_TESLA_T4',
  'NVIDIA_TESLA_A100',
  'NVIDIA_A100_80GB',
  'NVIDIA_L4',
  'NVIDIA_H100_80GB',
  'NVIDIA_H100_MEGA_80GB',
  'NVIDIA_H200_141GB',
  'TPU_V2',
  'TPU_V3',
  'TPU_V4_POD',
  'TPU_V5_LITEPOD',
]);

function checkResources(resources: Obj): void {
  const spec = (resources['machineSpec'] ?? {}) as Obj;
  const machineType = str(spec, 'machineType');
  if (!/^[a-z][a-z0-9]*-[a-z0-9-]+$/.test(machineType)) {
    throw new RpcError(grpc.status.INVALID_ARGUMENT, `Machine type "${machineType}" is not supported.`);
  }
  const accelerator = str(spec, 'acceleratorType');
  if (accelerator !== '' && accelerator !== 'ACCELERATOR_TYPE_UNSPECIFIED') {
    if (!ACCELERATORS.has(accelerator))
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `Accelerator type ${accelerator} is not supported.`);
    if (Number(spec['acceleratorCount'] ?? 0) < 1)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'accelerator_count must be at least 1.');
  }
  const min = Number(resources['minReplicaCount'] ?? 0);
  const max = Number(resources['maxReplicaCount'] ?? 0);
  if (min < 1)
    throw new RpcError(
      grpc.status.INVALID_ARGUMENT,
      'dedicated_resources.min_replica_count must be at least 1.',
    );
  if (max !== 0 && max < min)
    throw new RpcError(
      grpc.status.INVALID_ARGUMENT,
      'max_replica_count must not be below min_replica_count.',
    );
}

/** What UploadModel stored about the Model's container, with the image it ingested. */
function containerSourceOf(model: Obj, image: ContainerImage): ModelContainerSource {
  const spec = (model['containerSpec'] ?? {}) as Obj;
  return {
    image,
    imageUri: str(spec, 'imageUri'),
    command: (spec['command'] ?? []) as string[],
    args: (spec['args'] ?? []) as string[],
    env: ((spec['env'] ?? []) as Obj[]).map((e) => ({ name: str(e, 'name'), value: str(e, 'value') })),
    predictRoute: str(spec, 'predictRoute'),
    healthRoute: str(spec, 'healthRoute'),
    artifactUri: str(model, 'artifactUri'),
    modelId: str(model, 'name').split('/').pop() ?? '',
  };
}

/** The project and machine a container runs on (from a resource name under projects/{p}/locations/{l}). */
function placementOf(
  name: string,
  resources: Obj,
): { project: string; machineType: string; acceleratorType?: string } {
  const spec = (resources['machineSpec'] ?? {}) as Obj;
  const accelerator = str(spec, 'acceleratorType');
  return {
    project: /^projects\/([^/]+)/.exec(name)?.[1] ?? '',
    machineType: str(spec, 'machineType'),
    ...(accelerator === '' || accelerator === 'ACCELERATOR_TYPE_UNSPECIFIED'
      ? {}
      : { acceleratorType: accelerator }),
  };
}

function pickByWeight(split: Record<string, number>): string | undefined {
  const entries = Object.entries(split).filter(([, p]) => p > 0);
  let r = Math.random() * entries.reduce((n, [, p]) => n + p, 0);
  for (const [id, p] of entries) {
    r -= p;
    if (r < 0) return id;
  }
  return entries.at(-1)?.[0];
}

/**
 * The instances of a batch input file: one JSON value per JSON Lines line; for CSV, one array per row
 * after the header row, numbers where a cell is an unquoted number, strings in double quotes (as
 * get-batch-predictions says). Lines that cannot be read are errors (reported in errors_stats).
 */
export function parseInstances(text: string, format: string): { instances: unknown[]; errors: string[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const instances: unknown[] = [];
  const errors: string[] = [];
  if (format === 'jsonl') {
    for (const [i, line] of lines.entries()) {
      try {
        instances.push(JSON.parse(line) as unknown);
      } catch {
        errors.push(`line ${i + 1} is not JSON`);
      }
    }
    return { instances, errors };
  }
  for (const [i, line] of lines.slice(1).entries()) {
    const row = csvRow(line);
    if (row === undefined) errors.push(`row ${i + 2} is not valid CSV`);
    else instances.push(row);
  }
  return { instances, errors };
}

function csvRow(line: string): unknown[] | undefined {
  const cells: unknown[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i];
        i++;
      }
      cells.push(value);
    } else {
      const end = line.indexOf(',', i);
      const raw = (end === -1 ? line.slice(i) : line.slice(i, end)).trim();
      cells.push(raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw);
      i = end === -1 ? line.length : end;
    }
    if (i >= line.length) return cells;
    if (line[i] !== ',') return undefined;
    i++;
  }
}
