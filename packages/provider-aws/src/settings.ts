import type { AwsExtensions, LoadedManifest } from '@modelport/core';
import { isManagedFor, managedTags, ModelportError } from '@modelport/core';

/** What every AWS call of one deployment needs, read once from the manifest. */
export interface AwsSettings {
  name: string;
  /** Manifest kind (Endpoint, BatchJob): tagged, so an endpoint and a job of one name never mix. */
  kind: string;
  region: string;
  roleArn: string;
  bucket: string;
  /** Key prefix under which modelport writes (artifacts, async payloads, batch data); no trailing slash. */
  prefix: string;
  kmsKeyId?: string;
  subnets: string[];
  securityGroups: string[];
  rollbackAlarms: string[];
  deploymentStyle?: 'all-at-once' | 'canary' | 'linear';
  snsSuccessTopic?: string;
  snsErrorTopic?: string;
  batchJobQueue?: string;
  batchJobDefinition?: string;
  /** The user's tags (labels and extensions.aws.tags), added to modelport's own. */
  userTags: Record<string, string>;
}

export const DEFAULT_PREFIX = 'modelport';

export function awsExtensions(manifest: LoadedManifest): AwsExtensions {
  const spec = manifest.manifest.spec as { extensions?: { aws?: AwsExtensions } };
  return spec.extensions?.aws ?? {};
}

export function settingsOf(manifest: LoadedManifest): AwsSettings {
  const spec = manifest.manifest.spec as { target?: { region?: string } };
  const ext = awsExtensions(manifest);
  const region = spec.target?.region;
  if (region === undefined || region === '') {
    throw new ModelportError('invalidInput', 'AWS needs spec.target.region', {
      hint: 'set spec.target.region (e.g. us-east-1); modelport never picks a region for you',
    });
  }
  for (const key of ['roleArn', 'bucket'] as const) {
    if (ext[key] === undefined) {
      throw new ModelportError('invalidInput', `AWS needs spec.extensions.aws.${key}`, {
        hint:
          key === 'roleArn'
            ? 'the IAM role SageMaker assumes to read the model from S3 and write logs'
            : 'the S3 bucket modelport puts model artifacts and async/batch data in',
      });
    }
  }
  const labels = manifest.manifest.metadata.labels ?? {};
  const userTags: Record<string, string> = {};
  for (const [k, v] of [...Object.entries(labels), ...Object.entries(ext.tags ?? {})]) {
    if (v !== undefined) userTags[k] = v;
  }
  return {
    name: manifest.manifest.metadata.name,
    kind: manifest.manifest.kind,
    region,
    roleArn: ext.roleArn as string,
    bucket: ext.bucket as string,
    prefix: (ext.prefix ?? DEFAULT_PREFIX).replace(/^\/+|\/+$/g, ''),
    subnets: ext.subnets ?? [],
    securityGroups: ext.securityGroups ?? [],
    rollbackAlarms: ext.rollbackAlarms ?? [],
    userTags,
    ...(ext.kmsKeyId === undefined ? {} : { kmsKeyId: ext.kmsKeyId }),
    ...(ext.deploymentStyle === undefined ? {} : { deploymentStyle: ext.deploymentStyle }),
    ...(ext.snsSuccessTopic === undefined ? {} : { snsSuccessTopic: ext.snsSuccessTopic }),
    ...(ext.snsErrorTopic === undefined ? {} : { snsErrorTopic: ext.snsErrorTopic }),
    ...(ext.batchJobQueue === undefined ? {} : { batchJobQueue: ext.batchJobQueue }),
    ...(ext.batchJobDefinition === undefined ? {} : { batchJobDefinition: ext.batchJobDefinition }),
  };
}

/** Tags of a managed resource: the user's, then modelport's (which win on a clash). */
export function resourceTags(settings: AwsSettings, specHash: string): Record<string, string> {
  return { ...settings.userTags, ...ownTags(settings, specHash) };
}

/** modelport's four tags alone (S3 objects take at most 10 tags, so they get only these). */
export const ownTags: (settings: AwsSettings, specHash: string) => Record<string, string> = managedTags;

/** `{Key, Value}` lists, as SageMaker, Batch and EventBridge take them. */
export function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** True when tags say modelport manages the resource for this deployment (same name and kind). */
export const isOurs = isManagedFor;

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) {
    throw new ModelportError('invalidInput', `"${uri}" is not an s3:// location`, {
      hint: 'write s3://bucket/key',
    });
  }
  return { bucket: match[1] as string, key: match[2] as string };
}
