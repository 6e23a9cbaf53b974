import type { GcpExtensions, LoadedManifest } from '@modelport/core';
import { ModelportError } from '@modelport/core';
import { encodeLabels, ownTags } from './labels.js';

/** What every GCP call of one deployment needs, read once from the manifest. */
export interface GcpSettings {
  name: string;
  /** Manifest kind (Endpoint, BatchJob): labelled, so an endpoint and a job of one name never mix. */
  kind: string;
  project: string;
  /** Vertex AI location: spec.target.region, never defaulted. */
  location: string;
  bucket: string;
  /** Object prefix modelport writes under (artifacts, batch data); no trailing slash. */
  prefix: string;
  network?: string;
  serviceAccount?: string;
  dedicatedEndpoint: boolean;
  /** The user's labels (metadata.labels and extensions.gcp.labels), decoded form. */
  userLabels: Record<string, string>;
}

export const DEFAULT_PREFIX = 'modelport';

export function gcpExtensions(manifest: LoadedManifest): GcpExtensions {
  const spec = manifest.manifest.spec as { extensions?: { gcp?: GcpExtensions } };
  return spec.extensions?.gcp ?? {};
}

export function settingsOf(manifest: LoadedManifest): GcpSettings {
  const spec = manifest.manifest.spec as { target?: { region?: string } };
  const ext = gcpExtensions(manifest);
  const location = spec.target?.region;
  if (location === undefined || location === '') {
    throw new ModelportError('invalidInput', 'GCP needs spec.target.region (the Vertex AI location)', {
      hint: 'set spec.target.region (e.g. us-central1); modelport never picks a region for you',
    });
  }
  for (const key of ['project', 'bucket'] as const) {
    if (ext[key] === undefined || ext[key] === '') {
      throw new ModelportError('invalidInput', `GCP needs spec.extensions.gcp.${key}`, {
        hint:
          key === 'project'
            ? 'the Google Cloud project id that holds the Vertex AI resources'
            : 'the GCS bucket (in the same location) modelport puts model artifacts and batch data in',
      });
    }
  }
  const userLabels: Record<string, string> = {};
  for (const [k, v] of [
    ...Object.entries(manifest.manifest.metadata.labels ?? {}),
    ...Object.entries(ext.labels ?? {}),
  ]) {
    if (v !== undefined) userLabels[k] = v;
  }
  return {
    name: manifest.manifest.metadata.name,
    kind: manifest.manifest.kind,
    project: ext.project as string,
    location,
    bucket: (ext.bucket as string).replace(/^gs:\/\//, '').replace(/\/+$/, ''),
    prefix: DEFAULT_PREFIX,
    dedicatedEndpoint: ext.dedicatedEndpoint === true,
    userLabels,
    ...(ext.network === undefined ? {} : { network: ext.network }),
    ...(ext.serviceAccount === undefined ? {} : { serviceAccount: ext.serviceAccount }),
  };
}

/** `projects/{project}/locations/{location}`. */
export function parentOf(settings: { project: string; location: string }): string {
  return `projects/${settings.project}/locations/${settings.location}`;
}

/** Encoded labels of a managed resource: the user's, then modelport's (which win on a clash). */
export function resourceLabels(settings: GcpSettings, specHash: string): Record<string, string> {
  return encodeLabels(
    { ...settings.userLabels, ...ownTags(settings, specHash) },
    'metadata.labels / spec.extensions.gcp.labels',
  );
}

export function gsUri(bucket: string, key: string): string {
  return `gs://${bucket}/${key}`;
}

export function parseGsUri(uri: string): { bucket: string; key: string } {
  const match = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) {
    throw new ModelportError('invalidInput', `"${uri}" is not a gs:// location`, {
      hint: 'write gs://bucket/path',
    });
  }
  return { bucket: match[1] as string, key: match[2] as string };
}

/** The last segment of a resource name (`projects/p/locations/l/models/iris-1a2b3c4d` → `iris-1a2b3c4d`). */
export function idOf(resourceName: string): string {
  return resourceName.slice(resourceName.lastIndexOf('/') + 1);
}
