import { ModelportError } from '../errors.js';
import { specHash } from '../hash.js';
import type { Diagnostic } from '../manifest/diagnostics.js';
import type { ManifestKind } from '../manifest/types.js';
import type { DesiredResource, ObservedResource } from '../ports/resources.js';
import { resourceKey } from '../ports/resources.js';
import { DeploymentState } from '../status.js';
import { allFields, diffObserved } from './diff.js';
import type { Plan, PlanAction } from './model.js';

export interface PlanInput {
  kind: ManifestKind;
  name: string;
  provider: string;
  specHash: string;
  desired: readonly DesiredResource[];
  observed: readonly ObservedResource[];
  diagnostics?: Diagnostic[];
}

const BROKEN_STATES: ReadonlySet<string> = new Set([DeploymentState.Failed, DeploymentState.Stopped]);

/**
 * Desired vs observed → actions. Creates and updates follow the desired dependency order; deletes come
 * last (create before destroy, so a replacement is serving before the old one goes) and in reverse
 * dependency order.
 */
export function computePlan(input: PlanInput): Plan {
  const observedByKey = new Map(input.observed.map((o) => [resourceKey(o), o]));
  const desiredKeys = new Set(input.desired.map(resourceKey));
  const actions: PlanAction[] = [];

  for (const desired of input.desired) {
    const id = resourceKey(desired);
    const observed = observedByKey.get(id);
    const hash = specHash(desired.properties);
    const dependsOn = (desired.dependsOn ?? []).filter((dep) => desiredKeys.has(dep));
    const base = { id, type: desired.type, name: desired.name, dependsOn, desired, specHash: hash };
    if (observed === undefined) {
      actions.push({
        ...base,
        kind: 'create',
        reason: 'does not exist',
        changes: allFields(desired.properties),
      });
      continue;
    }
    if (!observed.managed) {
      throw new ModelportError('conflict', `${id} exists but is not managed by modelport`, {
        hint: 'rename the deployment (metadata.name), or delete or tag the existing resource yourself',
        details: { resource: id },
      });
    }
    if (BROKEN_STATES.has(observed.state)) {
      actions.push({
        ...base,
        kind: 'replace',
        observed,
        reason: `is ${observed.state}`,
        changes: diffObserved(desired.properties, observed.properties),
      });
      continue;
    }
    const changes = diffObserved(desired.properties, observed.properties);
    const specChanged = observed.specHash !== hash;
    if (!specChanged && changes.length === 0) {
      actions.push({ ...base, kind: 'noop', observed, reason: 'up to date', changes: [] });
      continue;
    }
    const immutable = new Set(desired.immutable ?? []);
    const needsReplace = changes.some((c) => immutable.has(c.path.split('.')[0] ?? c.path));
    actions.push({
      ...base,
      kind: needsReplace ? 'replace' : 'update',
      observed,
      reason: specChanged ? 'spec changed' : 'drift: changed outside modelport',
      changes: changes.length > 0 ? changes : [{ path: 'spec-hash', before: observed.specHash, after: hash }],
    });
  }

  const writeIds = actions.filter((a) => a.kind !== 'noop').map((a) => a.id);
  const deletes = input.observed.filter((o) => o.managed && !desiredKeys.has(resourceKey(o)));
  const deleteIds = new Set(deletes.map(resourceKey));
  for (const observed of deletes) {
    const id = resourceKey(observed);
    // A resource goes after everything that depends on it is gone, and after all creates and updates.
    const dependents = deletes
      .filter((other) => (other.dependsOn ?? []).includes(id))
      .map(resourceKey)
      .filter((dep) => deleteIds.has(dep));
    actions.push({
      id,
      kind: 'delete',
      type: observed.type,
      name: observed.name,
      reason: 'no longer in the manifest',
      changes: [],
      dependsOn: [...writeIds, ...dependents],
      observed,
      specHash: observed.specHash ?? '',
    });
  }

  return {
    kind: input.kind,
    name: input.name,
    provider: input.provider,
    specHash: input.specHash,
    actions,
    diagnostics: input.diagnostics ?? [],
  };
}
