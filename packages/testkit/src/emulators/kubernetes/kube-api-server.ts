import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import { KubeError, KubeStore } from './kube-store.js';
import type { KubeObject, ReadinessOverride, StoreOptions } from './kube-store.js';
import { PredictorPods } from './predictor-pods.js';
import type { PredictorPodOptions } from './predictor-pods.js';
import {
  API_GROUP_LIST,
  API_RESOURCE_LIST,
  API_VERSIONS,
  CORE_RESOURCE_LIST,
  VERSION_INFO,
} from './discovery.js';

export const KSERVE_GROUP = 'serving.kserve.io';
export const KSERVE_VERSION = 'v1beta1';
const COLLECTION =
  /^\/apis\/serving\.kserve\.io\/v1beta1\/(?:namespaces\/([^/]+)\/)?inferenceservices(?:\/([^/]+))?$/;

export interface FakeKubeOptions extends StoreOptions {
  /** Bearer token a request must carry when it sends one (default `modelport-test-token`). */
  token?: string;
  /**
   * Checks every object written (create, update, patch result) the way the API server checks a CRD's
   * structural schema; returns `path: message` lines, empty when valid. Failures answer 422 Invalid.
   */
  validate?: (object: unknown) => string[];
  /**
   * Runs the predictor of every InferenceService with a custom container (the modelport serving image) as a
   * real pod: the image from `pods.images`, /mnt/models filled from STORAGE_URI out of `pods.storage`, the
   * kserve-container probed before Ready, status.url its route (ingress.ts, predictor-pods.ts). Without it the
   * server is a control plane only: Ready after `readyAfterReads` reads, and status.url serves nothing.
   */
  pods?: PredictorPodOptions;
}

interface Fault {
  status: number;
  remaining: number;
  /** Only calls with this method (any when absent). */
  method?: string;
}

/**
 * A small Kubernetes API server for InferenceServices: discovery (enough for kubectl and client-node), CRUD
 * with resourceVersion conflicts, a readiness walk driven by reads, bearer-token auth, and fault injection.
 * Only what modelport and `kubectl get` need; everything else answers 404 like an unknown resource.
 */
export class FakeKubeApiServer {
  readonly store: KubeStore;
  readonly token: string;
  /** Every request, for assertions (method and path). */
  readonly requests: { method: string; path: string }[] = [];
  private server: Server | undefined;
  private readonly validate: ((object: unknown) => string[]) | undefined;
  /** The predictor pods, when the server runs them (`pods` option). */
  readonly pods: PredictorPods | undefined;
  /** Every 422 answered because of the schema, for an end-of-test assertion. */
  readonly violations: string[] = [];
  private faults: Fault[] = [];
  private writes = 0;
  private total = 0;
  url = '';

  constructor(options: FakeKubeOptions = {}) {
    this.store = new KubeStore(options);
    this.token = options.token ?? 'modelport-test-token';
    this.validate = options.validate;
    if (options.pods !== undefined) {
      this.pods = new PredictorPods(options.pods);
      this.store.attachPods(this.pods);
    }
  }

  /** Fails when any write of the test was refused by the schema check. */
  assertNoViolations(): void {
    if (this.violations.length > 0) throw new Error(`schema violations:\n${this.violations.join('\n')}`);
  }

  private checked(object: KubeObject): KubeObject {
    const errors = this.validate?.(object) ?? [];
    if (errors.length > 0) {
      const message = `InferenceService.serving.kserve.io "${object.metadata.name}" is invalid: ${errors.join('; ')}`;
      this.violations.push(message);
      throw new KubeError(422, 'Invalid', message);
    }
    return object;
  }

  async start(): Promise<{ url: string }> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url: this.url };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.pods?.stop();
  }

  /** Calls that change state (POST, PUT, PATCH, DELETE on inferenceservices), failed ones included. */
  writeCalls(): number {
    return this.writes;
  }

  /** Every call to the API, discovery included. */
  totalCalls(): number {
    return this.total;
  }

  /**
   * The next `count` InferenceService calls (of `method`, when given) fail with `status` (500, 429, 503, or
   * 409 with reason Conflict, as a write racing another writer gets).
   */
  failNext(count: number, status: number, method?: string): void {
    this.faults.push({ status, remaining: count, ...(method === undefined ? {} : { method }) });
  }

  /** An InferenceService that never turns Ready, or turns Ready=False with a reason. */
  setReadiness(namespace: string, name: string, override: ReadinessOverride | undefined): void {
    this.store.setReadiness(namespace, name, override);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.total += 1;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    this.requests.push({ method, path: url.pathname });
    const body = await readBody(req);
    try {
      // kubectl sends no bearer token to a plain-HTTP server, so a missing header is allowed; a wrong one is not.
      const auth = req.headers.authorization;
      if (auth !== undefined && auth !== `Bearer ${this.token}`) {
        throw new KubeError(401, 'Unauthorized', 'Unauthorized');
      }
      const discovery = discoveryDocument(url.pathname);
      if (discovery !== undefined && method === 'GET') return send(res, 200, discovery);
      const match = COLLECTION.exec(url.pathname);
      if (match === null)
        throw new KubeError(404, 'NotFound', 'the server could not find the requested resource');
      if (method !== 'GET') this.writes += 1;
      this.injectFault(method);
      const [, namespace, name] = match;
      send(res, ...this.route(method, namespace, name, url, body, req.headers['content-type'] ?? ''));
    } catch (error) {
      if (error instanceof KubeError) return send(res, error.code, statusObject(error));
      send(res, 500, statusObject(new KubeError(500, 'InternalError', String(error))));
    }
  }

  /** What the controller does after a write: the predictor pods follow the new spec. */
  private reconciled(object: KubeObject): KubeObject {
    this.pods?.reconcile(`${object.metadata.namespace}/${object.metadata.name}`, object);
    return object;
  }

  private injectFault(method: string): void {
    const fault = this.faults.find((f) => f.remaining > 0 && (f.method === undefined || f.method === method));
    if (fault === undefined) return;
    fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    const reason =
      fault.status === 429 ? 'TooManyRequests' : fault.status === 409 ? 'Conflict' : 'InternalError';
    throw new KubeError(fault.status, reason, `injected fault (${fault.status})`);
  }

  private route(
    method: string,
    namespace: string | undefined,
    name: string | undefined,
    url: URL,
    body: string,
    contentType: string,
  ): [number, unknown] {
    if (name === undefined) {
      if (method === 'GET') {
        const items = this.store.list(namespace, url.searchParams.get('labelSelector') ?? undefined);
        return [
          200,
          {
            apiVersion: `${KSERVE_GROUP}/${KSERVE_VERSION}`,
            kind: 'InferenceServiceList',
            metadata: { resourceVersion: '' },
            items,
          },
        ];
      }
      if (method === 'POST' && namespace !== undefined) {
        const object = parseObject(body);
        return [201, this.reconciled(this.store.create(namespace, this.checked(object)))];
      }
      throw new KubeError(405, 'MethodNotAllowed', `${method} is not supported on the collection`);
    }
    if (namespace === undefined) throw new KubeError(404, 'NotFound', 'namespace required');
    switch (method) {
      case 'GET':
        return [200, this.store.get(namespace, name)];
      case 'PUT':
        return [200, this.reconciled(this.store.replace(namespace, name, this.checked(parseObject(body))))];
      case 'PATCH': {
        const current = this.store.get(namespace, name);
        const patch: unknown = JSON.parse(body);
        const next = contentType.startsWith('application/json-patch+json')
          ? applyJsonPatch(current, patch)
          : applyMergePatch(current, patch);
        return [
          200,
          this.reconciled(
            this.store.store(`${namespace}/${name}`, current, this.checked(next as KubeObject)),
          ),
        ];
      }
      case 'DELETE':
        this.store.delete(namespace, name);
        this.pods?.remove(`${namespace}/${name}`);
        return [
          200,
          {
            apiVersion: 'v1',
            kind: 'Status',
            metadata: {},
            status: 'Success',
            details: { name, group: KSERVE_GROUP, kind: 'inferenceservices' },
          },
        ];
      default:
        throw new KubeError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }
}

function discoveryDocument(path: string): unknown {
  switch (path) {
    case '/version':
      return VERSION_INFO;
    case '/api':
      return API_VERSIONS;
    case '/api/v1':
      return CORE_RESOURCE_LIST;
    case '/apis':
      return API_GROUP_LIST;
    case `/apis/${KSERVE_GROUP}/${KSERVE_VERSION}`:
      return API_RESOURCE_LIST;
    default:
      return undefined;
  }
}

function parseObject(body: string): KubeObject {
  let object: unknown;
  try {
    object = JSON.parse(body);
  } catch {
    throw new KubeError(400, 'BadRequest', 'the body is not JSON');
  }
  const metadata = (object as { metadata?: { name?: unknown } } | null)?.metadata;
  if (typeof metadata?.name !== 'string' || metadata.name === '') {
    throw new KubeError(422, 'Invalid', 'metadata.name: Required value');
  }
  const kind = (object as { kind?: unknown }).kind;
  if (kind !== 'InferenceService')
    throw new KubeError(400, 'BadRequest', `kind ${String(kind)} is not InferenceService`);
  return object as KubeObject;
}

function statusObject(error: KubeError): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    code: error.code,
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
