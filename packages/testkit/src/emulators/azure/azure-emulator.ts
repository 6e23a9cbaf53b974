import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArmReply } from './arm-http.js';
import { ArmError, badRequest, errorReply, json, notFound, readBody, send } from './arm-http.js';
import type { ArmViolation } from './arm-validator.js';
import { ArmValidator, azureSpecsDir } from './arm-validator.js';
import { BatchRunner } from './batch-runner.js';
import type { BlobAccount } from './blob-rest.js';
import { BlobRest } from './blob-rest.js';
import type { AzureCallInfo, LroStyle } from './faults.js';
import { AzureFaults } from './faults.js';
import { CommandJobs } from './command-jobs.js';
import { InferenceContainers } from './inference-containers.js';
import { Scoring } from './scoring.js';
import { ImageRegistry } from '../shared/containers.js';
import type { TestCertificate } from './tls.js';
import { createTestCertificate } from './tls.js';

export const API_VERSION = '2022-10-01';
/** The datastore every emulated workspace has (Azure ML creates it with the workspace). */
export const DEFAULT_DATASTORE = 'workspaceblobstore';
export const DATASTORE_CONTAINER = 'azureml-blobstore-00000000-0000-0000-0000-000000000000';
/** The container registry every emulated workspace has (`properties.containerRegistry`, `<name>.azurecr.io`). */
export const WORKSPACE_REGISTRY = 'modelportacr01';

/** VM sizes Azure ML managed online endpoints accept here (a deployment with another one is refused). */
export const KNOWN_SKUS: ReadonlySet<string> = new Set([
  'Standard_DS1_v2',
  'Standard_DS2_v2',
  'Standard_DS3_v2',
  'Standard_DS4_v2',
  'Standard_DS5_v2',
  'Standard_F2s_v2',
  'Standard_F4s_v2',
  'Standard_F8s_v2',
  'Standard_F16s_v2',
  'Standard_E2s_v3',
  'Standard_E4s_v3',
  'Standard_E8s_v3',
  'Standard_E16s_v3',
  'Standard_NC4as_T4_v3',
  'Standard_NC8as_T4_v3',
  'Standard_NC16as_T4_v3',
  'Standard_NC64as_T4_v3',
  'Standard_NC6s_v3',
  'Standard_NC12s_v3',
  'Standard_NC24s_v3',
  'Standard_NC24ads_A100_v4',
  'Standard_NC48ads_A100_v4',
  'Standard_NC96ads_A100_v4',
  'Standard_ND96asr_v4',
  'Standard_NC40ads_H100_v5',
  'Standard_NC80adis_H100_v5',
  'Standard_ND96isr_H100_v5',
]);

export interface AzureEmulatorOptions {
  /** Azurite (or any blob service) the workspace's datastore lives in. Without it, models cannot be served. */
  storage?: BlobAccount;
  /** How long a long-running operation stays in progress (default 40 ms). */
  transitionMs?: number;
  /** Where the ARM schemas are (default: ../shared/specs/azure from the repository root). */
  specsDir?: string;
  /** Region workspaces report (default eastus). */
  location?: string;
  /**
   * The images the workspace can pull, by reference (ACR and any registry): what an environment version's
   * `image` names. A deployment whose image is not there fails as Azure fails a pull.
   */
  images?: ImageRegistry;
  /**
   * Multiplies the deployments' probe delays and periods (default 1: Azure's timing, 10 s + 30 × 10 s with
   * the default ProbeSettings). Tests pass e.g. 0.05.
   */
  probeScale?: number;
}

/** A stored ARM resource: its id as created, its kind (`onlineEndpoints/deployments`) and its JSON. */
export interface ArmResource {
  id: string;
  kind: string;
  name: string;
  body: Record<string, unknown>;
  /** While a long-running operation runs: when it ends and how. */
  pending?: { until: number; verb: 'Creating' | 'Updating' | 'Deleting'; failure?: string; gate?: Gate };
}

/** Work an operation waits for (a user container becoming ready), and how it ended. */
interface Gate {
  done: boolean;
  failure?: string;
  promise: Promise<void>;
}

interface Operation {
  id: string;
  key: string;
  verb: 'Creating' | 'Updating' | 'Deleting';
  until: number;
  failure?: string;
  gate?: Gate;
}

/** Kinds whose PUT is a long-running operation, with the style the real service answers in. */
const LRO_KINDS: Readonly<Record<string, LroStyle>> = {
  onlineEndpoints: 'azure-async-operation',
  'onlineEndpoints/deployments': 'azure-async-operation',
  batchEndpoints: 'azure-async-operation',
  'batchEndpoints/deployments': 'location',
};

/** Schema names (resourceDefinitions) of the kinds the emulator accepts a PUT for. */
const SCHEMA_OF: Readonly<Record<string, string>> = {
  onlineEndpoints: 'workspaces_onlineEndpoints',
  'onlineEndpoints/deployments': 'workspaces_onlineEndpoints_deployments',
  batchEndpoints: 'workspaces_batchEndpoints',
  'batchEndpoints/deployments': 'workspaces_batchEndpoints_deployments',
  'models/versions': 'workspaces_models_versions',
  'environments/versions': 'workspaces_environments_versions',
  models: 'workspaces_models',
  environments: 'workspaces_environments',
  jobs: 'workspaces_jobs',
  datastores: 'workspaces_datastores',
};

const ML_PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.machinelearningservices\/workspaces\/([^/]+)((?:\/[^/]+)*)$/i;
const INSIGHTS_PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.insights\/autoscalesettings(?:\/([^/]+))?$/i;
const ACTIONS = new Set(['listkeys', 'listsecrets', 'gettoken', 'getlogs']);

/**
 * A stateful Azure Resource Manager for Microsoft.MachineLearningServices (workspaces, datastores, models,
 * environments, online and batch endpoints and deployments, jobs) and Microsoft.Insights autoscale
 * settings, on 127.0.0.1 over HTTPS with a self-signed certificate, so the real SDK clients run with their
 * stock pipeline and bearer-token policy. Long-running operations use the three ARM styles, provisioning
 * states walk to Succeeded or Failed, every ML PUT is checked against the official ARM schema (a violation
 * is answered 400 and recorded), faults are injected on request, and each online deployment runs its
 * environment's image as its user container (inference-containers.ts), which the scoring URIs forward to.
 */
export class AzureEmulator {
  readonly faults = new AzureFaults();
  readonly violations: ArmViolation[] = [];
  /** Every stored resource by lower-cased id. */
  readonly resources = new Map<string, ArmResource>();
  readonly callCounts = new Map<string, number>();
  readonly transitionMs: number;
  readonly location: string;
  /** The images the workspace can pull (see {@link AzureEmulatorOptions.images}); tests push into it. */
  readonly images: ImageRegistry;
  /** Multiplies the deployments' probe delays and periods (see {@link AzureEmulatorOptions.probeScale}). */
  probeScale: number;
  private readonly operations = new Map<string, Operation>();
  private readonly validator: ArmValidator | undefined;
  private server: Server | undefined;
  private certificate: TestCertificate | undefined;
  private workDir = '';
  private baseUrl = '';
  private writes = 0;
  private total = 0;
  private readonly jobs: CommandJobs;
  private readonly containers: InferenceContainers;
  private readonly scoring: Scoring;
  private readonly batch: BatchRunner;
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly options: AzureEmulatorOptions = {}) {
    this.transitionMs = options.transitionMs ?? 40;
    this.location = options.location ?? 'eastus';
    this.probeScale = options.probeScale ?? 1;
    this.images = options.images ?? new ImageRegistry();
    const dir = options.specsDir ?? azureSpecsDir();
    this.validator = dir === undefined ? undefined : new ArmValidator(dir);
    this.containers = new InferenceContainers({
      images: this.images,
      blobs: () => this.blobs(),
      resource: (id) => this.resources.get(id.toLowerCase()),
      datastorePath: (uri) => this.datastorePath(uri),
      workDir: () => this.workDir,
      probeScale: () => this.probeScale,
    });
    this.scoring = new Scoring(this, this.containers);
    this.batch = new BatchRunner(this);
    this.jobs = new CommandJobs({
      images: this.images,
      blobs: () => this.blobs(),
      resource: (id) => this.resources.get(id.toLowerCase()),
      datastorePath: (uri) => this.datastorePath(uri),
      defaultDatastore: DEFAULT_DATASTORE,
      workDir: () => this.workDir,
      takeFailure: (job) =>
        this.faults.takeJobFailure(
          String((job.body['properties'] as Record<string, unknown>)['experimentName'] ?? job.name),
        ),
    });
  }

  /** True when the ARM schemas were found and PUT bodies are validated. */
  get validating(): boolean {
    return this.validator !== undefined;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** The emulator's certificate (PEM): what a client passes as `tlsOptions.ca` or NODE_EXTRA_CA_CERTS. */
  get ca(): string {
    return this.certificate?.cert ?? '';
  }

  /** Path of the certificate file, for NODE_EXTRA_CA_CERTS in child processes. */
  get caPath(): string {
    return this.certificate?.certPath ?? '';
  }

  async start(): Promise<{ url: string; ca: string; caPath: string }> {
    this.certificate = await createTestCertificate();
    this.workDir = await mkdtemp(join(tmpdir(), 'modelport-azure-emulator-'));
    if (this.options.storage !== undefined) await this.blobs().createContainer(DATASTORE_CONTAINER);
    const server = createServer({ cert: this.certificate.cert, key: this.certificate.key }, (req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    this.server = server;
    this.baseUrl = `https://127.0.0.1:${port}`;
    return { url: this.baseUrl, ca: this.certificate.cert, caPath: this.certificate.certPath };
  }

  async stop(): Promise<void> {
    await this.batch.idle();
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await this.containers.stopAll();
    await this.jobs.stopAll();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.certificate !== undefined) await rm(this.certificate.dir, { recursive: true, force: true });
    if (this.workDir !== '') await rm(this.workDir, { recursive: true, force: true });
  }

  /** PUT, PATCH, DELETE and state-changing POST calls (batch invocations), not reads, polls or key lists. */
  writeCalls(): number {
    return this.writes;
  }

  totalCalls(): number {
    return this.total;
  }

  /** Calls of one operation, e.g. `PUT onlineEndpoints/deployments`. */
  calls(operation: string): number {
    return this.callCounts.get(operation) ?? 0;
  }

  /** Fails when any PUT body broke the official ARM schema. */
  assertNoViolations(): void {
    if (this.violations.length > 0) {
      throw new Error(
        `requests that break the ARM schema:\n${this.violations
          .map((v) => `${v.method} ${v.path} (${v.resourceType}): ${v.errors.join('; ')}`)
          .join('\n')}`,
      );
    }
  }

  /** Stored resources of one kind (`onlineEndpoints`, `onlineEndpoints/deployments`, `autoscalesettings`...). */
  list(kind: string): ArmResource[] {
    this.settle();
    return [...this.resources.values()].filter((r) => r.kind === kind);
  }

  /** A stored resource by kind and name (the last id segment), case-insensitive. */
  find(kind: string, name: string): ArmResource | undefined {
    return this.list(kind).find((r) => r.name.toLowerCase() === name.toLowerCase());
  }

  /**
   * The user container of an online deployment (by deployment name), as Azure ML started it: its environment
   * and mounts (container paths), its process id and how many times it was restarted.
   */
  userContainer(deployment: string):
    | {
        env: Record<string, string>;
        mounts: Record<string, string>;
        pid: number;
        restarts: number;
        logs: string;
      }
    | undefined {
    const resource = this.find('onlineEndpoints/deployments', deployment);
    const c = resource === undefined ? undefined : this.containers.get(resource.id);
    if (c === undefined) return undefined;
    return {
      env: { ...(c.spec.env ?? {}) },
      mounts: { ...(c.spec.mounts ?? {}) },
      pid: c.container.pid,
      restarts: c.restarts,
      logs: c.container.logs(),
    };
  }

  /** @internal The blob service of the datastore. */
  blobs(): BlobRest {
    if (this.options.storage === undefined) {
      throw new ArmError(
        400,
        'UserError',
        'the emulated workspace has no storage account (start it with `storage`)',
      );
    }
    return new BlobRest(this.options.storage);
  }

  /** @internal Stores a job created by a batch invocation. */
  putJob(workspaceId: string, name: string, body: Record<string, unknown>): ArmResource {
    const id = `${workspaceId}/jobs/${name}`;
    const resource: ArmResource = {
      id,
      kind: 'jobs',
      name,
      body: { id, name, type: armType('jobs'), ...body },
    };
    this.resources.set(id.toLowerCase(), resource);
    return resource;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      res.destroy();
      return;
    }
    const call = this.describe(method, url.pathname);
    this.total++;
    this.callCounts.set(call.operation, (this.callCounts.get(call.operation) ?? 0) + 1);
    try {
      await this.faults.waitLatency();
      const retryAfterMs = this.faults.takeThrottle(call.operation);
      if (retryAfterMs !== undefined) {
        throw new ArmError(429, 'TooManyRequests', 'The request was throttled. Retry after the given time.', {
          'retry-after-ms': String(retryAfterMs),
          'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
        });
      }
      if (this.faults.take500(call.operation)) {
        throw new ArmError(500, 'InternalServerError', 'An internal server error occurred. Please retry.');
      }
      await this.faults.runHooks(call, 'before');
      this.settle();
      const reply = await this.route(method, url, body, req);
      if (reply.status < 400 && isWrite(call.operation)) this.writes++;
      send(res, reply);
      await this.faults.runHooks(call, 'after');
    } catch (error) {
      if (res.headersSent) return;
      send(
        res,
        error instanceof ArmError
          ? errorReply(error)
          : errorReply(new ArmError(500, 'InternalServerError', (error as Error).message)),
      );
    }
  }

  private describe(method: string, path: string): AzureCallInfo {
    const segments = path.split('/').filter((s) => s !== '');
    const name = decodeURIComponent(segments[segments.length - 1] ?? '');
    const ml = ML_PATH.exec(path);
    if (ml !== null) {
      const rest = (ml[4] ?? '').split('/').filter((s) => s !== '');
      const kinds = rest.filter((_, i) => i % 2 === 0);
      const kind = kinds.length === 0 ? 'workspaces' : kinds.join('/');
      return { operation: `${method} ${kind}`, method, path, name };
    }
    if (INSIGHTS_PATH.test(path)) return { operation: `${method} autoscalesettings`, method, path, name };
    const first = segments[0] ?? '';
    return { operation: `${method} ${first}`, method, path, name };
  }

  private async route(method: string, url: URL, raw: Buffer, req: IncomingMessage): Promise<ArmReply> {
    const path = url.pathname;
    if (path.startsWith('/operations/')) return this.asyncOperationStatus(path.slice('/operations/'.length));
    if (path.startsWith('/operationResults/'))
      return this.locationStatus(path.slice('/operationResults/'.length));
    if (path.startsWith('/score/')) return this.scoring.score(path, raw, req);
    if (path.startsWith('/batch/')) return this.batch.invoke(path, raw, req);
    const version = url.searchParams.get('api-version');
    const insights = INSIGHTS_PATH.exec(path);
    if (insights !== null) return this.autoscale(method, path, insights[3], raw);
    const ml = ML_PATH.exec(path);
    if (ml === null) throw new ArmError(404, 'InvalidResourceType', `no resource type at ${path}`);
    if (version !== API_VERSION) {
      throw new ArmError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${version ?? ''}' is invalid. The supported versions are '${API_VERSION}'.`,
      );
    }
    const workspaceId = path.slice(0, path.length - (ml[4] ?? '').length);
    const rest = (ml[4] ?? '').split('/').filter((s) => s !== '');
    if (rest.length === 0) return this.workspace(method, workspaceId, decodeURIComponent(ml[3] ?? ''));
    const action = rest[rest.length - 1]?.toLowerCase() ?? '';
    if (method === 'POST' && rest.length % 2 === 1 && ACTIONS.has(action)) {
      return this.action(action, rest.slice(0, -1), workspaceId, raw);
    }
    const kind = rest.filter((_, i) => i % 2 === 0).join('/');
    if (rest.length % 2 === 1) {
      if (method !== 'GET')
        throw new ArmError(405, 'MethodNotAllowed', `${method} is not allowed on a collection`);
      return this.listChildren(path, kind);
    }
    const name = decodeURIComponent(rest[rest.length - 1] ?? '');
    switch (method) {
      case 'GET':
        return json(200, this.view(this.get(path, kind, name)));
      case 'PUT':
        return this.put(path, kind, name, parseJson(raw));
      case 'PATCH':
        return this.patch(path, kind, name, parseJson(raw));
      case 'DELETE':
        return this.remove(path, kind, name);
      default:
        throw new ArmError(405, 'MethodNotAllowed', `${method} is not allowed`);
    }
  }

  private workspace(method: string, id: string, name: string): ArmReply {
    if (method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'workspaces are not managed here');
    return json(200, {
      id,
      name,
      type: 'Microsoft.MachineLearningServices/workspaces',
      location: this.location,
      properties: {
        provisioningState: 'Succeeded',
        discoveryUrl: `${this.baseUrl}/discovery`,
        containerRegistry: `${id.slice(0, id.toLowerCase().indexOf('/providers/'))}/providers/Microsoft.ContainerRegistry/registries/${WORKSPACE_REGISTRY}`,
      },
    });
  }

  private get(path: string, kind: string, name: string): ArmResource {
    const resource = this.resources.get(path.toLowerCase()) ?? this.builtin(path, kind, name);
    if (resource === undefined) throw notFound(`${kindLabel(kind)} ${name}`);
    return resource;
  }

  /** The workspace's default datastore exists without being created (Azure ML makes it with the workspace). */
  private builtin(path: string, kind: string, name: string): ArmResource | undefined {
    if (kind !== 'datastores' || name !== DEFAULT_DATASTORE || this.options.storage === undefined)
      return undefined;
    const account = this.options.storage.accountName;
    const resource: ArmResource = {
      id: path,
      kind,
      name,
      body: {
        id: path,
        name,
        type: armType(kind),
        properties: {
          datastoreType: 'AzureBlob',
          accountName: account,
          containerName: DATASTORE_CONTAINER,
          endpoint: 'core.windows.net',
          protocol: 'https',
          isDefault: true,
          credentials: { credentialsType: 'AccountKey' },
          serviceDataAccessAuthIdentity: 'None',
        },
      },
    };
    this.resources.set(path.toLowerCase(), resource);
    return resource;
  }

  private listChildren(path: string, kind: string): ArmReply {
    const prefix = `${path.toLowerCase()}/`;
    const value = [...this.resources.values()]
      .filter((r) => r.kind === kind && r.id.toLowerCase().startsWith(prefix))
      .filter((r) => r.id.slice(prefix.length).split('/').length === 1)
      .map((r) => this.view(r));
    if (kind.includes('/')) {
      // The parent must exist (listing versions of a model that was never created is a 404).
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (!this.resources.has(parent.toLowerCase()) && !kind.endsWith('versions')) {
        throw notFound(`${kindLabel(kind.split('/')[0] ?? kind)} ${parent.split('/').pop() ?? ''}`);
      }
    }
    return json(200, { value });
  }

  private async put(
    path: string,
    kind: string,
    name: string,
    body: Record<string, unknown>,
  ): Promise<ArmReply> {
    const schema = SCHEMA_OF[kind];
    if (schema === undefined) throw new ArmError(404, 'InvalidResourceType', `no resource type ${kind}`);
    if (this.validator !== undefined) {
      const errors = this.validator.validate(schema, name, armType(kind), body);
      if (errors.length > 0) {
        this.violations.push({ method: 'PUT', path, resourceType: schema, errors });
        throw new ArmError(
          400,
          'InvalidRequestContent',
          `The request content is invalid: ${errors.join('; ')}`,
        );
      }
    }
    this.checkTags(path, schema, body['tags']);
    const key = path.toLowerCase();
    const existing = this.resources.get(key);
    if (existing?.pending !== undefined) {
      throw new ArmError(
        409,
        'Conflict',
        `${kindLabel(kind)} ${name} has an operation in progress (${existing.pending.verb}).`,
      );
    }
    const properties = { ...((body['properties'] as Record<string, unknown> | undefined) ?? {}) };
    await this.checkPut(kind, path, name, properties, body);
    const stored: Record<string, unknown> = {
      ...body,
      id: path,
      name,
      type: armType(kind),
      properties,
      systemData: {
        createdAt: new Date().toISOString(),
        createdBy: 'emulator',
        lastModifiedAt: new Date().toISOString(),
      },
    };
    if (
      kind === 'onlineEndpoints' ||
      kind === 'onlineEndpoints/deployments' ||
      kind.startsWith('batchEndpoints')
    ) {
      // ARM answers the short form of a location (`East US` → `eastus`).
      stored['location'] = String(body['location'] ?? this.location)
        .toLowerCase()
        .replace(/\s+/g, '');
    }
    this.decorate(kind, path, name, stored, existing);
    const lro = LRO_KINDS[kind];
    const resource: ArmResource = { id: path, kind, name, body: stored };
    this.resources.set(key, resource);
    if (kind === 'jobs' && properties['jobType'] === 'Command' && existing === undefined) {
      properties['status'] = 'Starting';
      this.jobs.start(resource);
    }
    if (lro === undefined) return json(existing === undefined ? 201 : 200, this.view(resource));
    (stored['properties'] as Record<string, unknown>)['provisioningState'] =
      existing === undefined ? 'Creating' : 'Updating';
    const failure = this.faults.takeOperationFailure(name);
    const gate =
      failure === undefined && kind === 'onlineEndpoints/deployments' ? this.provision(resource) : undefined;
    const verb = existing === undefined ? 'Creating' : 'Updating';
    const style = this.faults.lroStyle ?? lro;
    // A synchronous answer comes once the container is up (or failed).
    if (style === 'sync' && gate !== undefined) await gate.promise;
    return this.startOperation(
      resource,
      verb,
      style,
      failure ?? gate?.failure,
      existing === undefined ? 201 : 200,
      gate,
    );
  }

  private patch(path: string, kind: string, name: string, body: Record<string, unknown>): ArmReply {
    const resource = this.get(path, kind, name);
    if (resource.pending !== undefined) {
      throw new ArmError(
        409,
        'Conflict',
        `${kindLabel(kind)} ${name} has an operation in progress (${resource.pending.verb}).`,
      );
    }
    for (const key of ['tags', 'sku', 'identity', 'kind'] as const) {
      if (body[key] !== undefined) resource.body[key] = body[key];
    }
    if (body['properties'] !== undefined) {
      resource.body['properties'] = {
        ...(resource.body['properties'] as object),
        ...(body['properties'] as object),
      };
    }
    if (LRO_KINDS[kind] === undefined) return json(200, this.view(resource));
    return this.startOperation(resource, 'Updating', this.faults.lroStyle ?? 'location', undefined, 202);
  }

  private remove(path: string, kind: string, name: string): ArmReply {
    const key = path.toLowerCase();
    const resource = this.resources.get(key);
    if (resource === undefined) return json(204);
    if (kind === 'onlineEndpoints/deployments') {
      const endpoint = this.resources.get(key.slice(0, key.lastIndexOf('/deployments/')));
      const props = (endpoint?.body['properties'] ?? {}) as Record<string, unknown>;
      const live = Number((props['traffic'] as Record<string, number> | undefined)?.[name] ?? 0);
      if (live > 0) {
        throw badRequest(
          `Deployment ${name} has ${live}% of the traffic; set it to 0 before deleting it.`,
          'UserError',
        );
      }
    }
    if (kind === 'jobs') void this.jobs.cancel(resource.id);
    if (kind === 'models/versions' || kind === 'environments/versions' || kind === 'datastores') {
      this.resources.delete(key);
      return json(200);
    }
    const style = this.faults.lroStyle ?? 'location';
    if (style === 'sync') {
      this.drop(key);
      return json(200);
    }
    return this.startOperation(resource, 'Deleting', style, undefined, 202);
  }

  /**
   * Starts the deployment's user container (its image, model mount, environment, probes): the operation
   * stays in progress until the container is ready, and fails with the reason when it is not.
   */
  private provision(resource: ArmResource): Gate {
    const gate: Gate = { done: false, promise: Promise.resolve() };
    const work = this.containers
      .provision(resource)
      .then(
        async (result) => {
          if (!result.ok) gate.failure = result.reason;
          // Deleted (or replaced) while it was starting: its container goes too.
          else if (this.resources.get(resource.id.toLowerCase()) !== resource) {
            await this.containers.stop(resource.id);
          }
        },
        (error: unknown) => {
          gate.failure = `ResourceNotReady: the user container could not be started: ${(error as Error).message}`;
        },
      )
      .finally(() => {
        gate.done = true;
        this.background.delete(work);
      });
    gate.promise = work;
    this.background.add(work);
    return gate;
  }

  /** Answers a long-running PUT/PATCH/DELETE in one of the three ARM styles. */
  private startOperation(
    resource: ArmResource,
    verb: 'Creating' | 'Updating' | 'Deleting',
    style: LroStyle,
    failure: string | undefined,
    status: number,
    gate?: Gate,
  ): ArmReply {
    const props = resource.body['properties'] as Record<string, unknown>;
    if (style === 'sync' && verb !== 'Deleting') {
      props['provisioningState'] = failure === undefined ? 'Succeeded' : 'Failed';
      this.afterSettled(resource, failure);
      return json(status, this.view(resource));
    }
    const until = Date.now() + this.transitionMs;
    const waits = gate === undefined || gate.done ? {} : { gate };
    resource.pending = { until, verb, ...(failure === undefined ? {} : { failure }), ...waits };
    props['provisioningState'] = verb;
    const op: Operation = {
      id: randomUUID(),
      key: resource.id.toLowerCase(),
      verb,
      until,
      ...(failure === undefined ? {} : { failure }),
      ...waits,
    };
    this.operations.set(op.id, op);
    if (style === 'azure-async-operation') {
      return json(verb === 'Deleting' ? 202 : status, verb === 'Deleting' ? undefined : this.view(resource), {
        'Azure-AsyncOperation': `${this.baseUrl}/operations/${op.id}`,
        'retry-after-ms': '10',
      });
    }
    return json(202, undefined, {
      Location: `${this.baseUrl}/operationResults/${op.id}`,
      'retry-after-ms': '10',
    });
  }

  private asyncOperationStatus(id: string): ArmReply {
    const op = this.operations.get(id);
    if (op === undefined) throw notFound(`operation ${id}`);
    if (Date.now() < op.until || op.gate?.done === false)
      return json(200, { id, name: id, status: 'InProgress' });
    const failure = op.failure ?? op.gate?.failure;
    if (failure !== undefined) {
      return json(200, { id, name: id, status: 'Failed', error: failureError(failure) });
    }
    return json(200, { id, name: id, status: 'Succeeded' });
  }

  private locationStatus(id: string): ArmReply {
    const op = this.operations.get(id);
    if (op === undefined) throw notFound(`operation ${id}`);
    if (Date.now() < op.until || op.gate?.done === false) {
      return json(202, undefined, {
        Location: `${this.baseUrl}/operationResults/${id}`,
        'retry-after-ms': '10',
      });
    }
    const failure = op.failure ?? op.gate?.failure;
    if (failure !== undefined) {
      return json(400, { error: failureError(failure) });
    }
    if (op.verb === 'Deleting') return json(200);
    const resource = this.resources.get(op.key);
    return resource === undefined ? json(200) : json(200, this.view(resource));
  }

  /** Ends every operation whose time has come: provisioning states walk to Succeeded or Failed. */
  private settle(): void {
    const now = Date.now();
    for (const [key, resource] of [...this.resources]) {
      const pending = resource.pending;
      if (pending === undefined || now < pending.until || pending.gate?.done === false) continue;
      delete resource.pending;
      if (pending.verb === 'Deleting') {
        this.drop(key);
        continue;
      }
      const failure = pending.failure ?? pending.gate?.failure;
      (resource.body['properties'] as Record<string, unknown>)['provisioningState'] =
        failure === undefined ? 'Succeeded' : 'Failed';
      this.afterSettled(resource, failure);
    }
  }

  private afterSettled(resource: ArmResource, failure: string | undefined): void {
    if (failure === undefined) return;
    // A failed create of a deployment keeps the resource (Failed), as Azure ML does; traffic is not moved.
    (resource.body['properties'] as Record<string, unknown>)['provisioningState'] = 'Failed';
  }

  /** Removes a resource and (for endpoints) its deployments; their user containers are stopped. */
  private drop(key: string): void {
    for (const [id, resource] of [...this.resources]) {
      if (id !== key && !id.startsWith(`${key}/`)) continue;
      this.resources.delete(id);
      if (resource.kind === 'onlineEndpoints/deployments') {
        const stopping = this.containers.stop(id).finally(() => this.background.delete(stopping));
        this.background.add(stopping);
      }
    }
  }

  /**
   * ARM's rules for resource tags, which the schema does not carry: at most 50, names of at most 512
   * characters without `<>%&\?/`, values of at most 256. A breach is answered 400 and recorded.
   */
  private checkTags(path: string, resourceType: string, tags: unknown): void {
    if (tags === undefined || tags === null) return;
    const entries = Object.entries(tags as Record<string, unknown>);
    const errors: string[] = [];
    if (entries.length > 50) errors.push(`${entries.length} tags (at most 50)`);
    for (const [name, value] of entries) {
      if (/[<>%&\\?/]/.test(name)) errors.push(`tag name "${name}" has a character of <>%&\\?/`);
      if (name.length > 512) errors.push(`tag name "${name.slice(0, 20)}..." is longer than 512`);
      if (typeof value !== 'string' || value.length > 256)
        errors.push(`tag "${name}" needs a string of at most 256 characters`);
    }
    if (errors.length === 0) return;
    this.violations.push({ method: 'PUT', path, resourceType, errors });
    throw new ArmError(400, 'InvalidTagNameCharacters', `The tags are invalid: ${errors.join('; ')}`);
  }

  /** What Azure checks on a PUT beyond the schema: parents, references, SKUs, traffic. */
  private async checkPut(
    kind: string,
    path: string,
    name: string,
    properties: Record<string, unknown>,
    body: Record<string, unknown>,
  ): Promise<void> {
    const key = path.toLowerCase();
    if (kind.endsWith('/deployments') || kind.endsWith('/versions')) {
      const parent = key.slice(0, key.lastIndexOf('/', key.lastIndexOf('/') - 1));
      if (kind.endsWith('/deployments') && !this.resources.has(parent)) {
        throw notFound(`${kindLabel(kind.split('/')[0] ?? kind)} ${parent.split('/').pop() ?? ''}`);
      }
    }
    if (kind === 'models/versions') {
      const uri = String(properties['modelUri'] ?? '');
      const location = this.datastorePath(uri);
      if (location !== undefined && this.options.storage !== undefined) {
        const blobs = this.blobs();
        const exists =
          (await blobs.get(location.container, location.path)) !== undefined ||
          (await blobs.list(location.container, location.path.replace(/\/?$/, '/'))).length > 0;
        if (!exists)
          throw badRequest(`No blob found at ${uri}: upload the model before registering it.`, 'UserError');
      }
    }
    if (kind === 'onlineEndpoints/deployments' || kind === 'batchEndpoints/deployments') {
      for (const [field, what] of [
        ['model', 'model'],
        ['environmentId', 'environment'],
      ] as const) {
        const ref =
          field === 'model'
            ? (properties['model'] as { assetId?: string } | undefined)?.assetId
            : properties[field];
        if (ref === undefined) continue;
        if (typeof ref !== 'string' || !this.resources.has(ref.toLowerCase())) {
          throw badRequest(`The ${what} ${String(ref)} does not exist in the workspace.`, 'UserError');
        }
      }
    }
    if (kind === 'batchEndpoints/deployments' && properties['codeConfiguration'] === undefined) {
      // "Batch deployments require a scoring script that indicates how a given model should be executed
      // ... For MLflow models, Azure Machine Learning automatically generates the scoring script"
      // (https://learn.microsoft.com/azure/machine-learning/how-to-use-batch-model-deployments).
      const modelId = (properties['model'] as { assetId?: string } | undefined)?.assetId ?? '';
      const model = this.resources.get(modelId.toLowerCase());
      const type = (model?.body['properties'] as Record<string, unknown> | undefined)?.['modelType'];
      if (type !== 'mlflow_model') {
        throw badRequest(
          `Batch deployment ${name} of a ${String(type ?? 'custom_model')} has no codeConfiguration: a batch deployment needs a scoring script (codeConfiguration.scoringScript) unless its model is an MLflow model.`,
          'BadRequest',
        );
      }
    }
    if (kind === 'onlineEndpoints/deployments') {
      const instanceType = String(properties['instanceType'] ?? '');
      if (!KNOWN_SKUS.has(instanceType)) {
        throw badRequest(
          `The instance type ${instanceType} is not supported for managed online endpoints.`,
          'UserError',
        );
      }
      const capacity = (body['sku'] as { capacity?: number } | undefined)?.capacity ?? 1;
      if (capacity < 1) throw badRequest('sku.capacity must be at least 1.', 'UserError');
    }
    if (kind === 'onlineEndpoints') {
      const traffic = (properties['traffic'] ?? {}) as Record<string, number>;
      const sum = Object.values(traffic).reduce((a, b) => a + b, 0);
      if (Object.keys(traffic).length > 0 && sum !== 100 && sum !== 0) {
        throw badRequest(`Traffic values need to sum to 100 (they sum to ${sum}).`, 'UserError');
      }
      for (const [deployment, value] of Object.entries(traffic)) {
        if (value === 0) continue;
        const dep = this.resources.get(`${key}/deployments/${deployment.toLowerCase()}`);
        if (dep === undefined)
          throw badRequest(`Deployment ${deployment} does not exist on endpoint ${name}.`, 'UserError');
        const state = (dep.body['properties'] as Record<string, unknown>)['provisioningState'];
        if (state !== 'Succeeded') {
          throw badRequest(
            `Deployment ${deployment} is ${String(state)}; only a Succeeded deployment can take traffic.`,
            'UserError',
          );
        }
      }
    }
  }

  /** Fields the service sets: scoring URIs, keys, defaults. */
  private decorate(
    kind: string,
    path: string,
    name: string,
    stored: Record<string, unknown>,
    existing: ArmResource | undefined,
  ): void {
    const props = stored['properties'] as Record<string, unknown>;
    const old = (existing?.body['properties'] ?? {}) as Record<string, unknown>;
    if (kind === 'onlineEndpoints') {
      const ws = workspaceOf(path);
      props['scoringUri'] = `${this.baseUrl}/score/${ws}/${name}/score`;
      props['swaggerUri'] = `${this.baseUrl}/score/${ws}/${name}/swagger.json`;
      props['traffic'] ??= {};
      props['keys'] = null;
      props['_keys'] = old['_keys'] ?? { primaryKey: key(), secondaryKey: key() };
    }
    if (kind === 'batchEndpoints') {
      const ws = workspaceOf(path);
      props['scoringUri'] = `${this.baseUrl}/batch/${ws}/${name}/jobs`;
      props['defaults'] ??= old['defaults'] ?? {};
      props['keys'] = null;
    }
    if (kind === 'onlineEndpoints/deployments') {
      props['endpointComputeType'] ??= 'Managed';
      props['requestSettings'] ??= { requestTimeout: 'PT5S', maxConcurrentRequestsPerInstance: 1 };
      props['scaleSettings'] ??= { scaleType: 'Default' };
    }
  }

  private action(action: string, rest: string[], workspaceId: string, raw: Buffer): ArmReply {
    const path = `${workspaceId}/${rest.join('/')}`;
    const kind = rest.filter((_, i) => i % 2 === 0).join('/');
    const name = decodeURIComponent(rest[rest.length - 1] ?? '');
    const resource = this.get(path, kind, name);
    const props = resource.body['properties'] as Record<string, unknown>;
    if (action === 'listkeys' && kind === 'onlineEndpoints') return json(200, props['_keys']);
    if (action === 'gettoken' && kind === 'onlineEndpoints') {
      return json(200, { accessToken: `aml-${key()}`, expiryTimeUtc: Math.floor(Date.now() / 1000) + 3600 });
    }
    if (action === 'getlogs' && kind === 'onlineEndpoints/deployments') {
      // DeploymentLogsRequest {containerType, tail} → DeploymentLogs {content}: the user container's output
      // (the storage initializer's is not modelled).
      const tail = Number((parseJson(raw) as { tail?: number }).tail ?? 100);
      return json(200, { content: this.containers.logTail(resource.id, tail) });
    }
    if (action === 'listsecrets' && kind === 'datastores' && this.options.storage !== undefined) {
      return json(200, { secretsType: 'AccountKey', key: this.options.storage.accountKey });
    }
    throw badRequest(`${action} is not available on ${kindLabel(kind)}`);
  }

  private autoscale(method: string, path: string, name: string | undefined, raw: Buffer): ArmReply {
    const key = path.toLowerCase();
    if (name === undefined) {
      if (method !== 'GET')
        throw new ArmError(405, 'MethodNotAllowed', `${method} is not allowed on a collection`);
      return json(200, {
        value: this.list('autoscalesettings')
          .filter((r) => r.id.toLowerCase().startsWith(`${key}/`))
          .map((r) => r.body),
      });
    }
    switch (method) {
      case 'GET': {
        const resource = this.resources.get(key);
        if (resource === undefined) throw notFound(`The autoscale setting ${name}`);
        return json(200, resource.body);
      }
      case 'DELETE':
        return json(this.resources.delete(key) ? 200 : 204);
      case 'PUT': {
        const body = parseJson(raw);
        this.checkTags(path, 'Microsoft.Insights/autoscalesettings', body['tags']);
        const errors = checkAutoscale(body, (id) => this.resources.has(id.toLowerCase()));
        if (errors.length > 0) {
          this.violations.push({
            method: 'PUT',
            path,
            resourceType: 'Microsoft.Insights/autoscalesettings',
            errors,
          });
          throw new ArmError(400, 'InvalidRequestContent', errors.join('; '));
        }
        const existed = this.resources.has(key);
        const stored = { ...body, id: path, name, type: 'Microsoft.Insights/autoscaleSettings' };
        this.resources.set(key, { id: path, kind: 'autoscalesettings', name, body: stored });
        return json(existed ? 200 : 201, stored);
      }
      default:
        throw new ArmError(405, 'MethodNotAllowed', `${method} is not allowed`);
    }
  }

  /** A resource as GET answers it (internal fields removed). */
  view(resource: ArmResource): Record<string, unknown> {
    const props = { ...(resource.body['properties'] as Record<string, unknown> | undefined) };
    delete props['_keys'];
    return { ...resource.body, properties: props };
  }

  /** @internal Container and blob path of an `azureml://` datastore URI of this workspace. */
  datastorePath(uri: string): { container: string; path: string } | undefined {
    const match =
      /^azureml:\/\/(?:subscriptions\/[^/]+\/resourcegroups\/[^/]+\/workspaces\/[^/]+\/)?datastores\/([^/]+)\/paths\/(.+)$/i.exec(
        uri,
      );
    if (match === null) return undefined;
    if (match[1] !== DEFAULT_DATASTORE) return undefined;
    return { container: DATASTORE_CONTAINER, path: decodeURIComponent(match[2] ?? '') };
  }
}

/** `"QuotaExceeded: not enough quota"` → `{code: QuotaExceeded, message}`; other reasons are DeploymentFailed. */
function failureError(reason: string): { code: string; message: string } {
  const match = /^([A-Z][A-Za-z]+): (.*)$/s.exec(reason);
  return match === null
    ? { code: 'DeploymentFailed', message: reason }
    : { code: match[1] as string, message: match[2] as string };
}

function isWrite(operation: string): boolean {
  const [method = '', kind = ''] = operation.split(' ');
  if (method === 'PUT' || method === 'PATCH' || method === 'DELETE') return true;
  return method === 'POST' && kind === 'batch';
}

function parseJson(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  try {
    const value = JSON.parse(raw.toString('utf8')) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw badRequest(
      `The request body is not a JSON object: ${(error as Error).message}`,
      'InvalidRequestContent',
    );
  }
}

function armType(kind: string): string {
  return `Microsoft.MachineLearningServices/workspaces/${kind}`;
}

function kindLabel(kind: string): string {
  return kind.replace(/s$/, '').replace(/\/.*$/, '');
}

function workspaceOf(path: string): string {
  return /\/workspaces\/([^/]+)/i.exec(path)?.[1] ?? 'workspace';
}

function key(): string {
  return randomBytes(24).toString('base64url');
}

/** Checks of an autoscale setting PUT (what Azure Monitor refuses), for want of its ARM schema here. */
function checkAutoscale(body: Record<string, unknown>, exists: (id: string) => boolean): string[] {
  const errors: string[] = [];
  const props = body['properties'] as Record<string, unknown> | undefined;
  if (typeof body['location'] !== 'string') errors.push('location is required');
  if (props === undefined) return [...errors, 'properties is required'];
  const target = props['targetResourceUri'];
  if (typeof target !== 'string') errors.push('properties.targetResourceUri is required');
  else if (!exists(target)) errors.push(`the target resource ${target} does not exist`);
  const profiles = props['profiles'];
  if (!Array.isArray(profiles) || profiles.length === 0 || profiles.length > 20) {
    errors.push('properties.profiles must have 1 to 20 profiles');
    return errors;
  }
  for (const [i, profile] of (profiles as Record<string, unknown>[]).entries()) {
    const capacity = profile['capacity'] as Record<string, unknown> | undefined;
    const [min, max, def] = ['minimum', 'maximum', 'default'].map((k) => Number(capacity?.[k]));
    if (typeof profile['name'] !== 'string') errors.push(`profiles[${i}].name is required`);
    if (![min, max, def].every((n) => Number.isInteger(n) && (n ?? -1) >= 0)) {
      errors.push(`profiles[${i}].capacity needs minimum, maximum and default as integer strings`);
    } else if (!((min as number) <= (def as number) && (def as number) <= (max as number))) {
      errors.push(`profiles[${i}].capacity must have minimum <= default <= maximum`);
    }
    const rules = profile['rules'];
    if (!Array.isArray(rules) || rules.length > 10)
      errors.push(`profiles[${i}].rules must have at most 10 rules`);
    for (const [j, rule] of ((rules ?? []) as Record<string, unknown>[]).entries()) {
      const trigger = rule['metricTrigger'] as Record<string, unknown> | undefined;
      const action = rule['scaleAction'] as Record<string, unknown> | undefined;
      for (const field of [
        'metricName',
        'metricResourceUri',
        'timeGrain',
        'statistic',
        'timeWindow',
        'timeAggregation',
        'operator',
        'threshold',
      ]) {
        if (trigger?.[field] === undefined)
          errors.push(`profiles[${i}].rules[${j}].metricTrigger.${field} is required`);
      }
      for (const field of ['direction', 'type', 'cooldown']) {
        if (action?.[field] === undefined)
          errors.push(`profiles[${i}].rules[${j}].scaleAction.${field} is required`);
      }
      if (!['Increase', 'Decrease', 'None'].includes(String(action?.['direction']))) {
        errors.push(`profiles[${i}].rules[${j}].scaleAction.direction must be Increase, Decrease or None`);
      }
    }
  }
  return errors;
}
