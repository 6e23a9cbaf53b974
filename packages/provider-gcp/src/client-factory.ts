import type * as AiplatformModule from '@google-cloud/aiplatform';
import type * as StorageModule from '@google-cloud/storage';
import type * as GrpcModule from '@grpc/grpc-js';
import type * as AuthModule from 'google-auth-library';
import type * as GaxModule from 'google-gax';
import { ModelportError } from '@modelport/core';
import type { GcpProviderOptions } from './options.js';

// Types only: the SDKs themselves are imported on first use (requiring @google-cloud/aiplatform costs
// about a second, plus as much for its first client), so commands that never reach GCP never pay.
type Aiplatform = typeof AiplatformModule;
type Gax = typeof GaxModule;
export type ModelServiceClient = InstanceType<Aiplatform['v1']['ModelServiceClient']>;
export type EndpointServiceClient = InstanceType<Aiplatform['v1']['EndpointServiceClient']>;
export type PredictionServiceClient = InstanceType<Aiplatform['v1']['PredictionServiceClient']>;
export type JobServiceClient = InstanceType<Aiplatform['v1']['JobServiceClient']>;
export type Storage = StorageModule.Storage;
export type CallOptions = GaxModule.CallOptions;

/** The SDK clients of one Vertex AI location (and GCS). */
export interface GcpClients {
  readonly location: string;
  readonly models: ModelServiceClient;
  readonly endpoints: EndpointServiceClient;
  readonly predictions: PredictionServiceClient;
  readonly jobs: JobServiceClient;
  readonly storage: Storage;
  /** Call options that poll long-running operations at the provider's interval. */
  readonly lro: CallOptions;
  /**
   * The prediction client of a dedicated endpoint (its own DNS name, from the endpoint); with an emulator
   * configured, the emulator's.
   */
  predictionsAt(dedicatedDns: string): PredictionServiceClient;
}

/** Where the provider gets its clients: a seam for tests, and the one place clients are configured. */
export interface GcpClientFactory {
  clients(location: string, project: string): Promise<GcpClients>;
  /** Closes the gRPC channels (a CLI process exits anyway; tests and long-lived hosts call it). */
  close(): Promise<void>;
}

export interface GcpClientConfig {
  /**
   * `host:port` of a Vertex AI gRPC server (an emulator): plain-text channel and a fixed fake token. Default:
   * `{location}-aiplatform.googleapis.com:443` over TLS with Application Default Credentials.
   */
  apiEndpoint?: string;
  /** Base URL of a GCS JSON API (an emulator), e.g. http://127.0.0.1:4443. Default: storage.googleapis.com. */
  gcsEndpoint?: string;
  /** How long-running operations are polled and how long they may take. */
  options?: Pick<GcpProviderOptions, 'pollIntervalMs' | 'waitTimeoutMs'>;
}

/** Time the process spent loading the GCP SDKs (for `pnpm bench`: what a GCP plan pays once). */
export const sdkLoadTimings: { aiplatformMs?: number; firstClientsMs?: number } = {};

let sdk:
  | Promise<{
      aiplatform: Aiplatform;
      gax: Gax;
      grpc: typeof GrpcModule;
      auth: typeof AuthModule;
      storage: typeof StorageModule;
    }>
  | undefined;

function loadSdk() {
  sdk ??= (async () => {
    const started = performance.now();
    const [aiplatform, gax, grpc, auth, storage] = await Promise.all([
      import('@google-cloud/aiplatform'),
      import('google-gax'),
      import('@grpc/grpc-js'),
      import('google-auth-library'),
      import('@google-cloud/storage'),
    ]);
    sdkLoadTimings.aiplatformMs = performance.now() - started;
    return {
      aiplatform: ((aiplatform as unknown as { default?: Aiplatform }).default ?? aiplatform) as Aiplatform,
      gax: ((gax as unknown as { default?: Gax }).default ?? gax) as Gax,
      grpc,
      auth,
      storage,
    };
  })();
  return sdk;
}

/**
 * Builds the clients once per process and location. The location comes from the manifest (no default);
 * credentials are Application Default Credentials unless an emulator endpoint is configured, in which case
 * a fixed fake token is used and the metadata server is never asked for anything.
 */
export class DefaultGcpClientFactory implements GcpClientFactory {
  private readonly byLocation = new Map<string, Promise<GcpClients>>();

  constructor(private readonly config: GcpClientConfig = {}) {}

  clients(location: string, project: string): Promise<GcpClients> {
    if (location === '') {
      throw new ModelportError('invalidInput', 'no Vertex AI location given', {
        hint: 'set spec.target.region in the manifest; modelport never picks a region for you',
      });
    }
    // One set of clients per location (their endpoint is regional); an emulator serves every location.
    const key = this.config.apiEndpoint === undefined ? location : '*';
    let clients = this.byLocation.get(key);
    if (clients === undefined) {
      clients = this.create(location, project);
      this.byLocation.set(key, clients);
      clients.catch(() => this.byLocation.delete(key));
    }
    return clients.then((c) => (c.location === location ? c : { ...c, location }));
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.byLocation.values()]);
    this.byLocation.clear();
    await Promise.allSettled(
      all.flatMap((r) =>
        r.status === 'fulfilled'
          ? [
              r.value.models.close(),
              r.value.endpoints.close(),
              r.value.predictions.close(),
              r.value.jobs.close(),
            ]
          : [],
      ),
    );
  }

  private async create(location: string, project: string): Promise<GcpClients> {
    const { aiplatform, gax, grpc, auth, storage } = await loadSdk();
    const started = performance.now();
    const override = this.config.apiEndpoint;
    let options: ConstructorParameters<Aiplatform['v1']['ModelServiceClient']>[0];
    if (override !== undefined) {
      if (this.config.gcsEndpoint === undefined) {
        // Storage would look for real credentials (and maybe the metadata server) beside an emulated Vertex.
        throw new ModelportError('invalidInput', 'a Vertex AI emulator is configured without a GCS one', {
          hint: 'set MODELPORT_GCS_ENDPOINT with MODELPORT_GCP_API_ENDPOINT (both point at emulators, or neither)',
        });
      }
      const at = override.lastIndexOf(':');
      const token = new auth.OAuth2Client();
      token.setCredentials({
        access_token: 'modelport-emulator-token',
        expiry_date: Date.now() + 10 * 365 * 86_400_000,
      });
      options = {
        apiEndpoint: at < 0 ? override : override.slice(0, at),
        port: at < 0 ? 443 : Number(override.slice(at + 1)),
        sslCreds: grpc.credentials.createInsecure(),
        authClient: token,
        universeDomain: 'googleapis.com',
        projectId: project,
      };
    } else {
      options = { apiEndpoint: `${location}-aiplatform.googleapis.com`, projectId: project };
    }
    const v1 = aiplatform.v1;
    const poll = this.config.options?.pollIntervalMs ?? 10_000;
    const total = this.config.options?.waitTimeoutMs ?? 3_600_000;
    const dedicated = new Map<string, PredictionServiceClient>();
    const clients: GcpClients = {
      location,
      models: new v1.ModelServiceClient(options),
      endpoints: new v1.EndpointServiceClient(options),
      predictions: new v1.PredictionServiceClient(options),
      jobs: new v1.JobServiceClient(options),
      storage: new storage.Storage({
        projectId: project,
        ...(this.config.gcsEndpoint === undefined
          ? {}
          : { apiEndpoint: this.config.gcsEndpoint, useAuthWithCustomEndpoint: false }),
      }),
      lro: { longrunning: gax.createBackoffSettings(poll, 1, poll, null, null, null, total) },
      predictionsAt: (dns) => {
        if (override !== undefined || dns === '') return clients.predictions;
        let client = dedicated.get(dns);
        if (client === undefined) {
          client = new v1.PredictionServiceClient({ ...options, apiEndpoint: dns });
          dedicated.set(dns, client);
        }
        return client;
      },
    };
    // The first client parses the 4 MB protos.json; initialising now keeps that cost in one place.
    await Promise.all([
      clients.models.initialize(),
      clients.endpoints.initialize(),
      clients.predictions.initialize(),
      clients.jobs.initialize(),
    ]);
    sdkLoadTimings.firstClientsMs = performance.now() - started;
    return clients;
  }
}

/** Client configuration from the environment: MODELPORT_GCP_API_ENDPOINT, MODELPORT_GCS_ENDPOINT. */
export function clientConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options?: GcpClientConfig['options'],
): GcpClientConfig {
  const api = env['MODELPORT_GCP_API_ENDPOINT'];
  const gcs = env['MODELPORT_GCS_ENDPOINT'];
  return {
    ...(api === undefined || api === '' ? {} : { apiEndpoint: api }),
    ...(gcs === undefined || gcs === '' ? {} : { gcsEndpoint: gcs }),
    ...(options === undefined ? {} : { options }),
  };
}
