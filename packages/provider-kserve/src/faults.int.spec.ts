// Failure paths against the fake API server's fault injection: throttling and 5xx are retried, a 409
// Conflict on update is re-read and re-sent, Ready=False and never-Ready end in clear errors, and an
// InferenceService modelport did not create is never touched.
import type { ApplyOutcome } from '@modelport/core';
import { ModelportError } from '@modelport/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { modelportWith, startHarness } from './testing/harness.js';

function failure(outcome: ApplyOutcome | undefined): ModelportError | undefined {
  return outcome?.result.failed[0]?.error;
}

describe('kserve provider faults', { sequential: true, timeout: 30_000 }, () => {
  let h: Harness;
  const file = (name: string, edits: readonly [string | RegExp, string][] = []) =>
    h.manifest(`${name}.yaml`, [[/name: iris$/m, `name: ${name}`], ...edits]);

  beforeAll(async () => {
    // Real predictor pods (the serving image): a fault-free apply converges only once its pod is ready.
    h = await startHarness({ serving: true, provider: { waitTimeoutMs: 60_000, pollIntervalMs: 20 } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('retries 429 and 500 on create and converges', async () => {
    const manifest = await file('throttled');
    h.server.failNext(1, 429, 'POST');
    h.server.failNext(1, 500, 'POST');
    const writes = h.server.writeCalls();
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(true);
    expect(h.server.writeCalls() - writes).toBe(3);
    expect(h.server.store.objects.has('models/throttled')).toBe(true);
  });

  it('re-reads and re-sends an update that hit a 409 Conflict', async () => {
    const changed = await file('throttled', [['maxReplicas: 4', 'maxReplicas: 5']]);
    h.server.failNext(1, 409, 'PUT');
    const [outcome] = await h.modelport().apply(changed);
    expect(outcome?.result.ok).toBe(true);
    const spec = h.server.store.objects.get('models/throttled')?.spec as {
      predictor: { maxReplicas: number };
    };
    expect(spec.predictor.maxReplicas).toBe(5);
  });

  it('fails with the condition reason when the InferenceService turns Ready=False, then recovers', async () => {
    const manifest = await file('broken');
    h.server.setReadiness('models', 'broken', {
      mode: 'fail',
      reason: 'ImagePullBackOff',
      message: 'image not found',
    });
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(false);
    expect(failure(outcome)?.message).toContain('Ready=False (ImagePullBackOff): image not found');
    const [status] = await h.modelport().status(manifest);
    expect(status).toMatchObject({
      state: 'failed',
      message: 'Ready=False (ImagePullBackOff): image not found',
    });
    // A failed InferenceService is planned as a replace; once the cluster recovers, apply converges.
    expect((await h.modelport().plan(manifest))[0]?.actions.map((a) => a.kind)).toEqual(['replace']);
    h.server.setReadiness('models', 'broken', undefined);
    const [again] = await h.modelport().apply(manifest);
    expect(again?.result.ok, again?.result.failed[0]?.error.message).toBe(true);
  });

  it('times out on an InferenceService that never becomes Ready', async () => {
    const manifest = await file('stuck');
    h.server.setReadiness('models', 'stuck', { mode: 'never' });
    const impatient = modelportWith({ ...h.options, waitTimeoutMs: 100 });
    const [outcome] = await impatient.apply(manifest);
    expect(outcome?.result.ok).toBe(false);
    expect(failure(outcome)?.kind).toBe('timeout');
    expect(failure(outcome)?.message).toContain('is not Ready');
  });

  it('refuses to take over an InferenceService it did not create', async () => {
    const manifest = await file('foreign');
    h.server.store.create('models', {
      metadata: { name: 'foreign', namespace: 'models', labels: { app: 'theirs' } },
      spec: { predictor: {} },
    });
    const error = await h
      .modelport()
      .plan(manifest)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(ModelportError.is(error, 'conflict')).toBe(true);
  });

  it('says which kubeconfig context is missing', async () => {
    const manifest = await file('nocontext', [
      ['      namespace: models', '      namespace: models\n      context: prod'],
    ]);
    const error = await h
      .modelport()
      .plan(manifest)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(ModelportError.is(error, 'invalidInput')).toBe(true);
    expect((error as Error).message).toContain('no context "prod"');
  });

  it('maps a wrong token to an auth error', async () => {
    const manifest = await file('wrongtoken');
    const { writeKubeconfig } = await import('@modelport/testkit');
    const path = await writeKubeconfig(`${h.dir}/bad-config`, h.server.url, 'not-the-token');
    const error = await modelportWith({ ...h.options, kubeconfigPath: path })
      .plan(manifest)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(ModelportError.is(error, 'auth')).toBe(true);
  });
});
