// Faults injected in the Vertex AI emulator: UNAVAILABLE and RESOURCE_EXHAUSTED are retried until the call
// succeeds; a deploy whose operation ends in error leaves the traffic on the old model and nothing behind.
import type { EngineEvent } from '@modelport/core';
import type { VertexObject } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { startHarness } from './testing/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

const manifestFor = (name: string, timeout: string) =>
  h.manifest('iris-endpoint.yaml', `${name}-${timeout}.yaml`, [
    [/name: iris$/m, `name: ${name}`],
    ['bakeTimeSeconds: 300', 'bakeTimeSeconds: 0'],
    ['timeoutSeconds: 30', `timeoutSeconds: ${timeout}`],
  ]);

function endpoint(name: string): VertexObject | undefined {
  return h.emulator.endpoints.get(`projects/modelport-examples/locations/us-central1/endpoints/${name}`);
}

describe('faults', { sequential: true }, () => {
  it('retries UNAVAILABLE and RESOURCE_EXHAUSTED, in plans and applies, then succeeds', async () => {
    const file = await manifestFor('flaky', '30');
    h.emulator.faults
      .unavailable('ListModels', 1)
      .unavailable('UploadModel', 2)
      .resourceExhausted('CreateEndpoint', 1)
      .unavailable('DeployModel', 1);
    const events: EngineEvent[] = [];
    const [outcome] = await h.modelport({ onEvent: (e) => events.push(e) }).apply(file);
    expect(outcome?.result.failed).toEqual([]);
    const retries = events.flatMap((e) =>
      e.type === 'action.retry' ? [`${e.action.type} ${e.error.kind}`] : [],
    );
    expect(retries.sort()).toEqual([
      'vertex:DeployedModel unavailable',
      'vertex:Endpoint throttled',
      'vertex:Model unavailable',
      'vertex:Model unavailable',
    ]);
    expect(Object.values(endpoint('flaky')?.['trafficSplit'] ?? {})).toEqual([100]);
    await h.modelport().destroy(file);
  });

  it('a deploy that fails leaves the traffic on the old model, and the new model is removed', async () => {
    const base = await manifestFor('steady', '30');
    expect((await h.modelport().apply(base))[0]?.result.ok).toBe(true);
    const before = structuredClone(endpoint('steady'));
    const models = [...h.emulator.models.keys()];
    h.emulator.faults.failOperation('DeployModel', 'Model server never became ready: health check failed.');
    const [outcome] = await h.modelport().apply(await manifestFor('steady', '20'));
    expect(outcome?.result.ok).toBe(false);
    const error = outcome?.result.failed[0]?.error;
    expect(error?.message).toContain('health check failed');
    expect(error?.message).toMatch(/traffic stays on steady-[0-9a-f]{8}/);
    expect(outcome?.result.rolledBack).toEqual([expect.stringContaining('vertex:Model/steady-')]);
    // Traffic, deployed models and models are as they were; the failed deployed model is not left behind.
    expect(endpoint('steady')?.['trafficSplit']).toEqual(before?.['trafficSplit']);
    expect(endpoint('steady')?.['deployedModels']).toEqual(before?.['deployedModels']);
    expect([...h.emulator.models.keys()]).toEqual(models);
    // The next apply (the fault is gone) converges.
    expect((await h.modelport().apply(await manifestFor('steady', '20')))[0]?.result.ok).toBe(true);
    expect((endpoint('steady')?.['deployedModels'] as unknown[]).length).toBe(1);
    await h.modelport().destroy(base);
  });

  it('a first deploy that fails removes everything the apply created', async () => {
    h.emulator.faults.failOperation('DeployModel');
    const [outcome] = await h.modelport().apply(await manifestFor('doomed', '30'));
    expect(outcome?.result.ok).toBe(false);
    expect(outcome?.result.rolledBack.map((id) => id.split('/')[0]).sort()).toEqual([
      'gcs:ModelFolder',
      'vertex:Endpoint',
      'vertex:Model',
    ]);
    expect(endpoint('doomed')).toBeUndefined();
    expect(h.emulator.models.size).toBe(0);
    expect(h.emulator.gcs.list('modelport-examples-artifacts', 'modelport/doomed/')).toEqual([]);
  });

  it('PERMISSION_DENIED is an auth error, not retried', async () => {
    h.emulator.faults.failWith('CreateEndpoint', 7, 1);
    const [outcome] = await h.modelport().apply(await manifestFor('denied', '30'));
    expect(outcome?.result.failed[0]?.error).toMatchObject({ kind: 'auth', retryable: false });
    expect(h.emulator.endpoints.size).toBe(0);
    h.emulator.assertNoViolations();
  });
});
