import type { ObservedResource } from '@modelport/core';
import { MANAGED_BY, TAGS } from '@modelport/core';
import { stateOf } from './conditions.js';
import type { LiveInferenceService } from './kube-client.js';
import { ISVC_TYPE } from './render.js';

/** Labels modelport writes itself: not part of the compared properties (the hash is compared on its own). */
const OWN_LABEL_PREFIX = 'modelport.dev/';
/** Annotations clients add on their own (kubectl apply's last-applied copy). */
const FOREIGN_ANNOTATION_PREFIX = 'kubectl.kubernetes.io/';

/**
 * A live InferenceService as an observed resource. The spec is projected onto the desired shape: the
 * KServe webhook and API server default fields modelport never set (protocolVersion, probes...), and a
 * defaulted field is not drift. Fields modelport does set are compared whole.
 */
export function toObserved(
  isvc: LiveInferenceService,
  desired: Record<string, unknown> | undefined,
): ObservedResource {
  const labels = isvc.metadata.labels ?? {};
  const userLabels = Object.fromEntries(
    Object.entries(labels).filter(([k]) => !k.startsWith(OWN_LABEL_PREFIX)),
  );
  const annotations = Object.fromEntries(
    Object.entries(isvc.metadata.annotations ?? {}).filter(([k]) => !k.startsWith(FOREIGN_ANNOTATION_PREFIX)),
  );
  const spec = desired === undefined ? isvc.spec : project(isvc.spec, desired['spec']);
  return {
    type: ISVC_TYPE,
    name: isvc.metadata.name,
    properties: { spec, labels: userLabels, annotations },
    specHash: labels[TAGS.specHash],
    managed: labels[TAGS.managedBy] === MANAGED_BY,
    state: stateOf(isvc),
    raw: isvc,
  };
}

/** Annotations kubectl adds (last-applied-configuration): not compared, and kept on update. */
export function foreignAnnotations(isvc: LiveInferenceService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(isvc.metadata.annotations ?? {}).filter(([k]) => k.startsWith(FOREIGN_ANNOTATION_PREFIX)),
  );
}

/** `observed` keeping only keys `desired` has (recursively); values of other shapes are kept as they are. */
function project(observed: unknown, desired: unknown): unknown {
  if (isObject(observed) && isObject(desired)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(observed)) {
      if (key in desired) out[key] = project(observed[key], desired[key]);
    }
    // A key modelport sets that is gone from the live object is drift: report it as absent.
    for (const key of Object.keys(desired)) if (!(key in observed)) out[key] = undefined;
    return out;
  }
  if (Array.isArray(observed) && Array.isArray(desired) && observed.length === desired.length) {
    return observed.map((item, i) => project(item, desired[i]));
  }
  return observed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
