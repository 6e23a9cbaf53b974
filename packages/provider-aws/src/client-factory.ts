import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import type { BatchClient } from '@aws-sdk/client-batch';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerClientConfig } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { ModelportError } from '@modelport/core';

/** The SDK clients of one region. */
export interface AwsClients {
  readonly region: string;
  readonly sagemaker: SageMakerClient;
  readonly runtime: SageMakerRuntimeClient;
  readonly autoscaling: ApplicationAutoScalingClient;
  /** CloudWatch: the alarm that scales an async endpoint out from zero. */
  readonly cloudwatch: CloudWatchClient;
  readonly s3: S3Client;
  /** AWS Batch, EventBridge Scheduler and EventBridge: loaded on first use (only `aws-batch` jobs need them). */
  jobClients(): Promise<AwsJobClients>;
}

export interface AwsJobClients {
  readonly batch: BatchClient;
  readonly scheduler: SchedulerClient;
  readonly events: EventBridgeClient;
}

/** Where the provider gets its clients: a seam for tests, and the one place clients are configured. */
export interface AwsClientFactory {
  clients(region: string): AwsClients;
}

// The SDK's own types for credentials and retry strategies (from the client config, not @smithy/types).
type Credentials = NonNullable<SageMakerClientConfig['credentials']>;
type RetryStrategy = NonNullable<SageMakerClientConfig['retryStrategy']>;

export interface AwsClientConfig {
  /** One endpoint for every service (an emulator); default: the SDK's regional endpoints. */
  endpoint?: string;
  /** Default: the SDK's default provider chain (env, shared config/SSO, web identity, ECS/EC2 roles). */
  credentials?: Credentials;
  retryStrategy?: RetryStrategy;
  maxAttempts?: number;
  /** S3 path-style addressing; default true when `endpoint` is set (emulators have no bucket DNS). */
  forcePathStyle?: boolean;
}

/**
 * Builds SDK clients per region, once, with the region given by the manifest: there is no default region,
 * and credentials come from the default provider chain unless given (they are never logged).
 */
export class DefaultAwsClientFactory implements AwsClientFactory {
  private readonly byRegion = new Map<string, AwsClients>();
  private credentials: Credentials | undefined;

  constructor(private readonly config: AwsClientConfig = {}) {}

  clients(region: string): AwsClients {
    if (region === '') {
      throw new ModelportError('invalidInput', 'no AWS region given', {
        hint: 'set spec.target.region in the manifest; modelport never picks a region for you',
      });
    }
    let clients = this.byRegion.get(region);
    if (clients === undefined) {
      clients = this.create(region);
      this.byRegion.set(region, clients);
    }
    return clients;
  }

  private create(region: string): AwsClients {
    // One credential provider for every client and region: the chain resolves (and caches) once.
    this.credentials ??= this.config.credentials ?? fromNodeProviderChain();
    const common = {
      region,
      credentials: this.credentials,
      ...(this.config.endpoint === undefined ? {} : { endpoint: this.config.endpoint }),
      ...(this.config.retryStrategy === undefined ? {} : { retryStrategy: this.config.retryStrategy }),
      ...(this.config.maxAttempts === undefined ? {} : { maxAttempts: this.config.maxAttempts }),
    };
    let jobs: Promise<AwsJobClients> | undefined;
    return {
      region,
      sagemaker: new SageMakerClient(common),
      runtime: new SageMakerRuntimeClient(common),
      autoscaling: new ApplicationAutoScalingClient(common),
      cloudwatch: new CloudWatchClient(common),
      s3: new S3Client({
        ...common,
        forcePathStyle: this.config.forcePathStyle ?? this.config.endpoint !== undefined,
      }),
      jobClients: () =>
        (jobs ??= Promise.all([
          import('@aws-sdk/client-batch'),
          import('@aws-sdk/client-scheduler'),
          import('@aws-sdk/client-eventbridge'),
        ]).then(([batch, scheduler, events]) => ({
          batch: new batch.BatchClient(common),
          scheduler: new scheduler.SchedulerClient(common),
          events: new events.EventBridgeClient(common),
        }))),
    };
  }
}

/** Client configuration from the environment: MODELPORT_AWS_ENDPOINT_URL points every client at one server. */
export function clientConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AwsClientConfig {
  const endpoint = env['MODELPORT_AWS_ENDPOINT_URL'];
  return endpoint === undefined || endpoint === '' ? {} : { endpoint };
}
