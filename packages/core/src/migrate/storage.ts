import { uriScheme } from '../manifest/semantic.js';

/** Where each cloud keeps artifacts, and the extension that names its bucket (or datastore). */
const STORES: Readonly<
  Record<string, { scheme: string; bucketKey: string; uri(bucket: string, key: string): string }>
> = {
  aws: { scheme: 's3', bucketKey: 'bucket', uri: (b, k) => `s3://${b}/${k}` },
  gcp: { scheme: 'gs', bucketKey: 'bucket', uri: (b, k) => `gs://${b}/${k}` },
  azure: {
    scheme: 'azureml',
    bucketKey: 'datastore',
    uri: (d, k) => `azureml://datastores/${d}/paths/${k}`,
  },
};

/** Azure ML's default blob datastore of a workspace, used when extensions.azure.datastore is not set. */
export const AZURE_DEFAULT_DATASTORE = 'workspaceblobstore';

/** The object key of a cloud storage URI (the path inside its bucket or datastore). */
export function objectKey(uri: string): string {
  const scheme = uriScheme(uri);
  const rest = uri.slice(scheme.length + 3);
  if (scheme === 'azureml') {
    const match = /^datastores\/[^/]+\/paths\/(.*)$/.exec(rest);
    if (match?.[1] !== undefined) return match[1];
  }
  const slash = rest.indexOf('/');
  return slash < 0 ? '' : rest.slice(slash + 1);
}

export interface StorageTarget {
  /** The provider's artifact scheme, or undefined when it has no store of its own (local, KServe). */
  scheme?: string;
  /** The extension key under spec.extensions.<provider> that names the bucket/datastore. */
  bucketKey?: string;
  uri?(bucket: string, key: string): string;
}

export function storageOf(provider: string): StorageTarget {
  return STORES[provider] ?? {};
}
