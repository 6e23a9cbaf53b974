import type { DeploymentState } from '../status.js';

/** Tag keys every managed resource carries: the cloud is the source of truth, there is no state file. */
export const TAGS = {
  managedBy: 'modelport.dev/managed-by',
  name: 'modelport.dev/name',
  kind: 'modelport.dev/kind',
  specHash: 'modelport.dev/spec-hash',
} as const;
export const MANAGED_BY = 'modelport';

/** A resource a manifest needs, in the provider's own terms but comparable field by field. */
export interface DesiredResource {
  /** Provider-scoped type, e.g. `sagemaker:Endpoint`, `local:Server`. */
  type: string;
  name: string;
  /** Normalised fields compared against what is observed (drift detection works on these). */
  properties: Record<string, unknown>;
  /** Property keys whose change needs a new resource instead of an in-place update. */
  immutable?: readonly string[];
  /** Keys (`type/name`) of resources that must exist first. */
  dependsOn?: readonly string[];
}

/** A resource as it exists now, found by its modelport tags. */
export interface ObservedResource {
  type: string;
  name: string;
  properties: Record<string, unknown>;
  /** The `modelport.dev/spec-hash` tag, or undefined when the resource is not managed by modelport. */
  specHash: string | undefined;
  managed: boolean;
  state: DeploymentState;
  dependsOn?: readonly string[];
  /** The provider's own object, as returned by its API. */
  raw?: unknown;
}

/** modelport's own tags of a deployment's resource (as keys and values before any cloud's encoding). */
export function managedTags(
  settings: { name: string; kind: string },
  specHash: string,
): Record<string, string> {
  return {
    [TAGS.managedBy]: MANAGED_BY,
    [TAGS.name]: settings.name,
    [TAGS.kind]: settings.kind,
    [TAGS.specHash]: specHash,
  };
}

/** True when tags say modelport manages the resource for this deployment (same name and kind). */
export function isManagedFor(
  tags: Record<string, string | undefined>,
  settings: { name: string; kind: string },
): boolean {
  return (
    tags[TAGS.managedBy] === MANAGED_BY &&
    tags[TAGS.name] === settings.name &&
    tags[TAGS.kind] === settings.kind
  );
}

export function resourceKey(resource: { type: string; name: string }): string {
  return `${resource.type}/${resource.name}`;
}
