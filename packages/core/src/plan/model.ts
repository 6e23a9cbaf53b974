import type { Diagnostic } from '../manifest/diagnostics.js';
import type { ManifestKind } from '../manifest/types.js';
import type { DesiredResource, ObservedResource } from '../ports/resources.js';

export type ActionKind = 'create' | 'update' | 'replace' | 'delete' | 'noop';

/** One field that differs between what the manifest asks for and what exists. */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface PlanAction {
  /** `type/name` of the resource. */
  id: string;
  kind: ActionKind;
  type: string;
  name: string;
  /** Why this action: "does not exist", "spec changed", "drift: changed outside modelport", ... */
  reason: string;
  changes: FieldChange[];
  /** Ids of actions that must finish first. */
  dependsOn: string[];
  /** The resource after the action (absent for delete). */
  desired?: DesiredResource;
  /** The resource before the action (absent for create). */
  observed?: ObservedResource;
  /** Spec hash to tag the resource with. */
  specHash: string;
}

export interface Plan {
  kind: ManifestKind;
  name: string;
  provider: string;
  specHash: string;
  actions: PlanAction[];
  /** Capability warnings and notes (emulated modes, ignored extensions): shown with the plan. */
  diagnostics: Diagnostic[];
}

export function countActions(plan: Plan): Record<ActionKind, number> {
  const counts: Record<ActionKind, number> = { create: 0, update: 0, replace: 0, delete: 0, noop: 0 };
  for (const action of plan.actions) counts[action.kind]++;
  return counts;
}

export function hasChanges(plan: Plan): boolean {
  return plan.actions.some((a) => a.kind !== 'noop');
}
