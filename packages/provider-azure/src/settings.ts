import type { AzureExtensions, LoadedManifest } from '@modelport/core';
import { MANAGED_BY, ModelportError, TAGS } from '@modelport/core';

/** What every Azure call of one deployment needs, read once from the manifest. */
export interface AzureSettings {
  name: string;
  kind: string;
  /** spec.target.region: the Azure location of endpoints (never defaulted). */
  location: string;
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
  datastore: string;
  computeCluster?: string;
  /** The user's tags (labels and extensions.azure.tags), added to modelport's own. */
  userTags: Record<string, string>;
}

export const DEFAULT_DATASTORE = 'workspaceblobstore';
/** Folder of the datastore modelport writes under. */
export const DATASTORE_PREFIX = 'modelport';

export function azureExtensions(manifest: LoadedManifest): AzureExtensions {
  const spec = manifest.manifest.spec as { extensions?: { azure?: AzureExtensions } };
  return spec.extensions?.azure ?? {};
}

export function settingsOf(manifest: LoadedManifest): AzureSettings {
  const spec = manifest.manifest.spec as { target?: { region?: string } };
  const ext = azureExtensions(manifest);
  const location = spec.target?.region;
  if (location === undefined || location === '') {
    throw new ModelportError('invalidInput', 'Azure needs spec.target.region', {
      hint: 'set spec.target.region to the workspace region (e.g. eastus); modelport never picks a region for you',
    });
  }
  for (const key of ['subscriptionId', 'resourceGroup', 'workspace'] as const) {
    if (ext[key] === undefined || ext[key] === '') {
      throw new ModelportError('invalidInput', `Azure needs spec.extensions.azure.${key}`, {
        hint: 'name the Azure ML workspace: subscriptionId, resourceGroup and workspace under spec.extensions.azure',
      });
    }
  }
  const userTags: Record<string, string> = {};
  const labels = manifest.manifest.metadata.labels ?? {};
  for (const [k, v] of [...Object.entries(labels), ...Object.entries(ext.tags ?? {})]) {
    if (v !== undefined) userTags[k] = v;
  }
  return {
    name: manifest.manifest.metadata.name,
    kind: manifest.manifest.kind,
    // ARM answers locations in their short form (`East US` → `eastus`): compared in that form.
    location: location.toLowerCase().replace(/\s+/g, ''),
    subscriptionId: ext.subscriptionId as string,
    resourceGroup: ext.resourceGroup as string,
    workspace: ext.workspace as string,
    datastore: ext.datastore ?? DEFAULT_DATASTORE,
    userTags,
    ...(ext.computeCluster === undefined ? {} : { computeCluster: ext.computeCluster }),
  };
}

/**
 * Azure tag names cannot contain `<>%&\?/`: modelport's keys (`modelport.dev/spec-hash`) and the user's
 * (labels such as `app.kubernetes.io/name`) are written with `/` as `.` (`modelport.dev.spec-hash`).
 */
export function azureTagName(key: string): string {
  return key.replace(/[<>%&\\?/]/g, '.');
}

/** modelport's tag names as written on Azure resources. */
export const AZURE_TAGS = {
  managedBy: azureTagName(TAGS.managedBy),
  name: azureTagName(TAGS.name),
  kind: azureTagName(TAGS.kind),
  specHash: azureTagName(TAGS.specHash),
} as const;

/** Tags of a managed resource: the user's, then modelport's (which win on a clash). */
export function resourceTags(settings: AzureSettings, specHash: string): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(settings.userTags).map(([k, v]) => [azureTagName(k), v])),
    [AZURE_TAGS.managedBy]: MANAGED_BY,
    [AZURE_TAGS.name]: settings.name,
    [AZURE_TAGS.kind]: settings.kind,
    [AZURE_TAGS.specHash]: specHash,
  };
}

/** True when tags say modelport manages the resource for this deployment (same name and kind). */
export function isOurs(
  tags: Record<string, string | null | undefined> | undefined,
  settings: { name: string; kind: string },
): boolean {
  return (
    tags?.[AZURE_TAGS.managedBy] === MANAGED_BY &&
    tags[AZURE_TAGS.name] === settings.name &&
    tags[AZURE_TAGS.kind] === settings.kind
  );
}

/** True when the resource carries modelport's managed-by tag (owned by some deployment). */
export function isManaged(tags: Record<string, string | null | undefined> | undefined): boolean {
  return tags?.[AZURE_TAGS.managedBy] === MANAGED_BY;
}

/** ARM id of the workspace. */
export function workspaceId(s: AzureSettings): string {
  return `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${s.workspace}`;
}

/** `azureml://` URI of a path in the deployment's datastore. */
export function datastoreUri(s: AzureSettings, path: string): string {
  return `azureml://subscriptions/${s.subscriptionId}/resourcegroups/${s.resourceGroup}/workspaces/${s.workspace}/datastores/${s.datastore}/paths/${path}`;
}
