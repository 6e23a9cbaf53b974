import type { DeploymentState } from '@modelport/core';
import { DeploymentState as S } from '@modelport/core';
import type { Condition, LiveInferenceService } from './kube-client.js';

/**
 * An InferenceService's neutral state from its Ready condition. The condition only speaks for the current
 * spec once status.observedGeneration has caught up with metadata.generation; before that it is a rollout.
 */
export function stateOf(isvc: LiveInferenceService): DeploymentState {
  if (isvc.metadata.deletionTimestamp !== undefined) return S.Deleting;
  const ready = readyCondition(isvc);
  const generation = isvc.metadata.generation ?? 0;
  const observed = isvc.status?.observedGeneration ?? 0;
  const current = observed >= generation;
  if (ready?.status === 'True' && current) return S.Ready;
  if (ready?.status === 'False' && current) return S.Failed;
  // A rollout of a new generation while the old one is still serving.
  if (observed > 0 && !current) return S.Updating;
  return S.Creating;
}

export function readyCondition(isvc: LiveInferenceService): Condition | undefined {
  return isvc.status?.conditions?.find((c) => c.type === 'Ready');
}

/** "Ready=False (ImagePullBackOff): no such image" for messages. */
export function describeReady(isvc: LiveInferenceService): string {
  const ready = readyCondition(isvc);
  if (ready === undefined) return 'no Ready condition yet';
  const reason = ready.reason === undefined ? '' : ` (${ready.reason})`;
  return `Ready=${ready.status}${reason}${ready.message === undefined ? '' : `: ${ready.message}`}`;
}
