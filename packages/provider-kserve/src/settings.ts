import type { EndpointManifest, KserveExtensions } from '@modelport/core';

export interface KserveSettings {
  namespace: string;
  context: string | undefined;
  serviceAccountName: string | undefined;
  runtime: string | undefined;
  labels: Record<string, string | undefined> | undefined;
  annotations: Record<string, string | undefined> | undefined;
}

/** `spec.extensions.kserve`, with the defaults applied (namespace `default`). */
export function settingsOf(manifest: Pick<EndpointManifest, 'spec'>): KserveSettings {
  const ext: KserveExtensions = manifest.spec.extensions?.kserve ?? {};
  return {
    namespace: ext.namespace ?? 'default',
    context: ext.context,
    serviceAccountName: ext.serviceAccountName,
    runtime: ext.runtime,
    labels: ext.labels,
    annotations: ext.annotations,
  };
}
