import { describe, expect, it } from 'vitest';
import { describeReady, stateOf } from './conditions.js';
import type { LiveInferenceService } from './kube-client.js';

function isvc(
  generation: number,
  observed: number | undefined,
  ready?: string,
  reason?: string,
): LiveInferenceService {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: 'm', namespace: 'default', generation },
    spec: {},
    status: {
      ...(observed === undefined ? {} : { observedGeneration: observed }),
      ...(ready === undefined
        ? {}
        : { conditions: [{ type: 'Ready', status: ready, ...(reason === undefined ? {} : { reason }) }] }),
    },
  };
}

describe('stateOf', () => {
  it('is ready only when Ready=True speaks for the current generation', () => {
    expect(stateOf(isvc(1, 1, 'True'))).toBe('ready');
    expect(stateOf(isvc(2, 1, 'True'))).toBe('updating');
    expect(stateOf(isvc(1, undefined))).toBe('creating');
  });

  it('is failed on Ready=False for the current generation, a rollout before that', () => {
    expect(stateOf(isvc(1, 1, 'False', 'RevisionMissing'))).toBe('failed');
    expect(stateOf(isvc(2, 1, 'False'))).toBe('updating');
    expect(describeReady(isvc(1, 1, 'False', 'RevisionMissing'))).toBe('Ready=False (RevisionMissing)');
  });

  it('is deleting once a deletion timestamp is set', () => {
    const deleting = isvc(1, 1, 'True');
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(stateOf(deleting)).toBe('deleting');
  });
});
