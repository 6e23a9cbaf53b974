import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  AsyncHandle,
  AsyncInvokeRequest,
  AsyncResult,
  DeploymentStatus,
  DeploymentSummary,
  DesiredResource,
  EndpointProvider,
  InvokeRequest,
  InvokeResponse,
  ListOptions,
  LoadedManifest,
  ObservedResource,
  PlanAction,
  ProviderContext,
} from '@modelport/core';
import { DeploymentState, endpointMode, isBatchJob, isEndpoint, ModelportError } from '@modelport/core';
import { injectable } from '@modelport/core/di';
import { capabilities } from './capabilities.js';
import { BatchRunner } from './batch/batch-runner.js';
import type { EndpointProperties } from './endpoint-properties.js';
import { IMMUTABLE_ENDPOINT_FIELDS } from './endpoint-properties.js';
import { httpRequest, probeHealth, streamRequest } from './http-client.js';
import { asyncDataDir, localModelPath, resolveFromManifest, sha256File, stateDirFor } from './paths.js';
import { ProcessLauncher } from './realtime/process-launcher.js';
import { AsyncQueue } from './state/async-queue.js';
import type { DeploymentRow } from './state/state-store.js';
import { StateStore } from './state/state-store.js';
import { processAlive } from './process-alive.js';

export const SERVER_TYPE = 'local:Server';
export const BATCH_TYPE = 'local:BatchRun';
const DEFAULT_TIMEOUT_S = 60;

/** Serving routes of the runtime, by protocol name (`modelport invoke --protocol`). */
const PROTOCOL_ROUTES: Record<string, (name: string) => string> = {
  sagemaker: () => '/invocations',
  'kserve-v1': (name) => `/v1/models/${name}:predict`,
  v2: (name) => `/v2/models/${name}/infer`,
  vertex: () => '/predict',
  azure: () => '/score',
};

/**
 * The embedded default provider: endpoints run as background processes on 127.0.0.1 (state in SQLite
 * under `.modelport/`), async endpoints queue durably, batch jobs run over local files.
 */
@injectable()
export class LocalProvider implements EndpointProvider {
  readonly id = 'local';
  readonly capabilities = capabilities;
  private readonly stores = new Map<string, StateStore>();
  private readonly launcher = new ProcessLauncher();
  private readonly batch = new BatchRunner();

  async desired(manifest: LoadedManifest): Promise<DesiredResource[]> {
    const name = manifest.manifest.metadata.name;
    if (isBatchJob(manifest)) {
      return [
        {
          type: BATCH_TYPE,
          name,
          properties: await this.batch.properties(manifest),
          immutable: ['input', 'output'],
        },
      ];
    }
    if (!isEndpoint(manifest)) return [];
    return [
      {
        type: SERVER_TYPE,
        name,
        properties: { ...(await endpointProperties(manifest)) },
        immutable: IMMUTABLE_ENDPOINT_FIELDS,
      },
    ];
  }

  async observe(manifest: LoadedManifest): Promise<ObservedResource[]> {
    const row = this.store(manifest).get(manifest.manifest.kind, manifest.manifest.metadata.name);
    if (row === undefined) return [];
    // A finished batch run records its progress beside its spec: that is status, not something to diff.
    const { progress: _progress, ...properties } = row.properties;
    return [
      {
        type: row.type,
        name: row.name,
        properties: row.type === BATCH_TYPE ? properties : row.properties,
        specHash: row.specHash,
        managed: true,
        state: await this.liveState(row),
        raw: row,
      },
    ];
  }

  async execute(action: PlanAction, manifest: LoadedManifest, ctx: ProviderContext): Promise<void> {
    const store = this.store(manifest);
    const kind = manifest.manifest.kind;
    if (action.type === BATCH_TYPE) {
      if (action.kind === 'delete') {
        store.remove(kind, action.name);
        return;
      }
      await this.batch.run(store, manifest, action, ctx);
      return;
    }
    switch (action.kind) {
      case 'create':
        await this.launcher.start(store, kind, action, ctx);
        return;
      case 'update':
        await this.launcher.rollout(store, kind, action, ctx);
        return;
      case 'replace':
        await this.launcher.stop(store, kind, action.name, ctx);
        await this.launcher.start(store, kind, action, ctx);
        return;
      case 'delete':
        await this.launcher.stop(store, kind, action.name, ctx);
        store.remove(kind, action.name);
        await rm(asyncDataDir(store.dir, action.name), { recursive: true, force: true });
        return;
      case 'noop':
        return;
    }
  }

  async status(manifest: LoadedManifest): Promise<DeploymentStatus> {
    const kind = manifest.manifest.kind;
    const name = manifest.manifest.metadata.name;
    const row = this.store(manifest).get(kind, name);
    if (row === undefined) {
      return {
        kind,
        name,
        provider: this.id,
        state: DeploymentState.Absent,
        message: 'not deployed',
        resources: [],
      };
    }
    const state = await this.liveState(row);
    const serving = state === DeploymentState.Ready || state === DeploymentState.Degraded;
    const url =
      row.port === null || row.type !== SERVER_TYPE || !serving ? undefined : `http://127.0.0.1:${row.port}`;
    const details: Record<string, unknown> = { pid: row.pid, generation: row.activeGeneration };
    if (row.type === SERVER_TYPE && (row.properties as unknown as EndpointProperties).mode === 'async') {
      details['queue'] = new AsyncQueue(this.store(manifest).db, name).counts();
    }
    if (row.type === BATCH_TYPE) Object.assign(details, row.properties['progress'] ?? {});
    return {
      kind,
      name,
      provider: this.id,
      state,
      ...(row.message === null ? {} : { message: row.message }),
      ...(url === undefined ? {} : { url }),
      specHash: row.specHash,
      resources: [{ type: row.type, name: row.name, state }],
      details,
    };
  }

  async list(options: ListOptions): Promise<DeploymentSummary[]> {
    const store = this.storeAt(options.stateDir ?? stateDirFor());
    return Promise.all(
      store.all().map(async (row) => ({
        kind: row.kind,
        name: row.name,
        provider: this.id,
        state: await this.liveState(row),
        specHash: row.specHash,
        ...(row.port === null || row.type !== SERVER_TYPE ? {} : { url: `http://127.0.0.1:${row.port}` }),
      })),
    );
  }

  async invoke(manifest: LoadedManifest, request: InvokeRequest): Promise<InvokeResponse> {
    const row = this.servingRow(manifest);
    const protocol = request.protocol ?? 'sagemaker';
    const route = PROTOCOL_ROUTES[protocol];
    if (route === undefined) {
      throw new ModelportError('invalidInput', `unknown protocol "${protocol}"`, {
        hint: `protocols: ${Object.keys(PROTOCOL_ROUTES).join(', ')}`,
      });
    }
    const timeoutMs = request.timeoutMs ?? endpointTimeoutMs(manifest);
    return httpRequest({
      port: row.port ?? 0,
      path: route(row.name),
      body: request.body,
      contentType: request.contentType,
      ...(request.accept === undefined ? {} : { accept: request.accept }),
      timeoutMs,
    });
  }

  async invokeAsync(manifest: LoadedManifest, request: AsyncInvokeRequest): Promise<AsyncHandle> {
    const row = this.servingRow(manifest);
    const response = await streamRequest({
      port: row.port ?? 0,
      path: '/async-invocations',
      body: request.body,
      contentType: request.contentType,
      ...(request.sizeBytes === undefined ? {} : { sizeBytes: request.sizeBytes }),
    });
    const text = Buffer.from(response.body).toString('utf8');
    if (response.status !== 202) {
      throw new ModelportError(
        response.status === 413 ? 'invalidInput' : 'unavailable',
        `the async endpoint refused the request (HTTP ${response.status}): ${text}`,
      );
    }
    return JSON.parse(text) as AsyncHandle;
  }

  async asyncResult(id: string, _ctx: ProviderContext, manifest?: LoadedManifest): Promise<AsyncResult> {
    const [, name, requestId] = id.split('/');
    if (name === undefined || requestId === undefined)
      throw new ModelportError('invalidInput', `"${id}" is not a local async request id`);
    const store = manifest === undefined ? this.storeAt(stateDirFor()) : this.store(manifest);
    const row = new AsyncQueue(store.db, name).get(requestId);
    if (row === undefined) {
      throw new ModelportError('notFound', `no async request ${id} in ${store.dir}`, {
        hint: `run \`modelport result\` from the folder you invoked from, or set ${'MODELPORT_STATE_DIR'}`,
      });
    }
    const state = row.state === 'expired' ? 'failed' : row.state;
    const base: AsyncResult = {
      id,
      state,
      attempts: row.attempts,
      ...(row.error === null ? {} : { error: row.error }),
    };
    if (state !== 'succeeded') return base;
    // A JSON document gets one JSON answer; JSON lines and CSV payloads get one JSON line per record.
    const contentType = row.contentType === 'application/json' ? 'application/json' : 'application/jsonlines';
    return { ...base, contentType, body: await readFile(row.outputPath) };
  }

  /** The row of a serving endpoint, or a notFound error that says how to deploy it. */
  private servingRow(manifest: LoadedManifest): DeploymentRow {
    const row = this.store(manifest).get(manifest.manifest.kind, manifest.manifest.metadata.name);
    if (row === undefined || row.port === null) {
      throw new ModelportError('notFound', `endpoint ${manifest.manifest.metadata.name} is not deployed`, {
        hint: 'deploy it first with `modelport apply <manifest>`',
      });
    }
    return row;
  }

  private async liveState(row: DeploymentRow): Promise<DeploymentState> {
    if (row.type === BATCH_TYPE) return this.batch.liveState(row);
    if (row.pid === null || !processAlive(row.pid))
      return row.state === 'starting' ? DeploymentState.Failed : DeploymentState.Stopped;
    if (row.state === 'failed') return DeploymentState.Failed;
    if (row.port === null) return DeploymentState.Creating;
    return (await probeHealth(row.port)) ? DeploymentState.Ready : DeploymentState.Degraded;
  }

  private store(manifest: LoadedManifest): StateStore {
    return this.storeAt(stateDirFor(manifest));
  }

  private storeAt(dir: string): StateStore {
    let store = this.stores.get(dir);
    if (store === undefined) {
      store = new StateStore(dir);
      this.stores.set(dir, store);
    }
    return store;
  }
}

async function endpointProperties(manifest: LoadedManifest): Promise<EndpointProperties> {
  if (!isEndpoint(manifest)) throw new Error('not an endpoint');
  const spec = manifest.manifest.spec;
  const mode = endpointMode(manifest.manifest);
  const path = localModelPath(manifest);
  const local = (spec.extensions as { local?: { port?: number; workers?: number } } | undefined)?.local;
  const declared = capabilities.endpoint[mode];
  const properties: EndpointProperties = {
    mode,
    model: { path, sha256: await sha256File(path) },
    ...(spec.model.signature === undefined ? {} : { signature: spec.model.signature }),
    limits: {
      payloadMB: spec.limits?.payloadMB ?? Math.min(6, declared.maxPayloadMB),
      timeoutSeconds: spec.limits?.timeoutSeconds ?? DEFAULT_TIMEOUT_S,
    },
    port: local?.port ?? null,
  };
  if (mode === 'async') {
    const async = spec.async ?? {};
    properties.async = {
      maxPayloadMB: async.maxPayloadMB ?? declared.maxPayloadMB,
      timeoutSeconds: async.timeoutSeconds ?? 900,
      queueTtlSeconds: async.queueTtlSeconds ?? null,
      maxRetries: async.maxRetries ?? 2,
      workers: local?.workers ?? 1,
      outputDir:
        async.outputLocation === undefined
          ? join(stateDirFor(manifest), 'async', manifest.manifest.metadata.name, 'out')
          : resolveFromManifest(manifest, async.outputLocation),
    };
  }
  return properties;
}

function endpointTimeoutMs(manifest: LoadedManifest): number {
  if (!isEndpoint(manifest)) return DEFAULT_TIMEOUT_S * 1000;
  return (manifest.manifest.spec.limits?.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000 + 5_000;
}
