import { Agent } from 'node:https';
import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { MonitorClient } from '@azure/arm-monitor';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { HttpClient, PipelineRetryOptions } from '@azure/core-rest-pipeline';
import { createDefaultHttpClient } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential } from '@azure/identity';
import { ModelportError } from '@modelport/core';

/** The SDK clients of one subscription, plus what the data plane (scoring, batch invocations) needs. */
export interface AzureClients {
  readonly subscriptionId: string;
  readonly ml: AzureMachineLearningWorkspaces;
  /** ARM base URL the clients call (for requests the SDK cannot serialise, see batch.ts submitCommandJob). */
  readonly armEndpoint: string;
  readonly monitor: MonitorClient;
  readonly credential: TokenCredential;
  /** HTTP client of the data plane (the SDK's own, with the same TLS settings). */
  readonly http: HttpClient;
  /** Agent trusting an extra CA for the data plane (tests); production uses the default agent. */
  readonly agent?: Agent;
  /** Overrides the blob service URL of datastores (azurite); default `https://<account>.blob.<suffix>`. */
  readonly blobEndpoint?: string;
}

/** Where the provider gets its clients: a seam for tests, and the one place clients are configured. */
export interface AzureClientFactory {
  clients(subscriptionId: string): AzureClients;
}

export interface AzureClientConfig {
  /** ARM base URL (an emulator); default: the SDK's https://management.azure.com. */
  armEndpoint?: string;
  /** Default: a static token from MODELPORT_AZURE_ACCESS_TOKEN, else DefaultAzureCredential. */
  credential?: TokenCredential;
  blobEndpoint?: string;
  tlsCa?: string;
  retryOptions?: PipelineRetryOptions;
}

/**
 * Builds SDK clients per subscription, once. Credentials come from DefaultAzureCredential (environment,
 * workload identity, managed identity, Azure CLI...) unless given; tokens are never logged.
 */
export class DefaultAzureClientFactory implements AzureClientFactory {
  private readonly bySubscription = new Map<string, AzureClients>();
  private credential: TokenCredential | undefined;

  constructor(private readonly config: AzureClientConfig = {}) {}

  clients(subscriptionId: string): AzureClients {
    let clients = this.bySubscription.get(subscriptionId);
    if (clients === undefined) {
      clients = this.create(subscriptionId);
      this.bySubscription.set(subscriptionId, clients);
    }
    return clients;
  }

  private create(subscriptionId: string): AzureClients {
    this.credential ??= this.config.credential ?? new DefaultAzureCredential();
    const common = {
      ...(this.config.armEndpoint === undefined ? {} : { endpoint: this.config.armEndpoint }),
      ...(this.config.tlsCa === undefined ? {} : { tlsOptions: { ca: this.config.tlsCa } }),
      ...(this.config.retryOptions === undefined ? {} : { retryOptions: this.config.retryOptions }),
    };
    return {
      subscriptionId,
      ml: new AzureMachineLearningWorkspaces(this.credential, subscriptionId, common),
      armEndpoint: this.config.armEndpoint ?? 'https://management.azure.com',
      monitor: new MonitorClient(this.credential, subscriptionId, common),
      credential: this.credential,
      http: createDefaultHttpClient(),
      ...(this.config.tlsCa === undefined
        ? {}
        : { agent: new Agent({ ca: this.config.tlsCa, keepAlive: true }) }),
      ...(this.config.blobEndpoint === undefined ? {} : { blobEndpoint: this.config.blobEndpoint }),
    };
  }
}

/** A bearer token given as is (a CI job's `az account get-access-token`), for ARM and the data plane. */
export class StaticTokenCredential implements TokenCredential {
  constructor(private readonly token: string) {}

  async getToken(): Promise<AccessToken> {
    return { token: this.token, expiresOnTimestamp: Date.now() + 3600_000 };
  }

  /** Never print the token. */
  toJSON(): string {
    return 'StaticTokenCredential(***)';
  }
}

/**
 * Client configuration from the environment: MODELPORT_AZURE_ARM_ENDPOINT (ARM base URL),
 * MODELPORT_AZURE_BLOB_ENDPOINT (blob service URL of datastores), MODELPORT_AZURE_ACCESS_TOKEN (a bearer
 * token instead of DefaultAzureCredential). An emulator's CA comes in through NODE_EXTRA_CA_CERTS.
 */
export function clientConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AzureClientConfig {
  const config: AzureClientConfig = {};
  const arm = env['MODELPORT_AZURE_ARM_ENDPOINT'];
  if (arm !== undefined && arm !== '') {
    if (!/^https:\/\//.test(arm)) {
      throw new ModelportError('invalidInput', 'MODELPORT_AZURE_ARM_ENDPOINT must be an https:// URL', {
        hint: 'ARM clients send bearer tokens, which the SDK refuses to send over plain http',
      });
    }
    config.armEndpoint = arm.replace(/\/+$/, '');
  }
  const blob = env['MODELPORT_AZURE_BLOB_ENDPOINT'];
  if (blob !== undefined && blob !== '') config.blobEndpoint = blob.replace(/\/+$/, '');
  const token = env['MODELPORT_AZURE_ACCESS_TOKEN'];
  if (token !== undefined && token !== '') config.credential = new StaticTokenCredential(token);
  return config;
}
