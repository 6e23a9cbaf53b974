// The real-time endpoint lifecycle against the AWS emulator, through the real SDK clients: apply packs and
// uploads the model, creates model, config and endpoint; plan is then all no-op; invoke returns the
// predictions of the modelport runtime; a change is an UpdateEndpoint; destroy leaves nothing behind.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { referencePredictions } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { IRIS_MODEL, ROOT, startHarness } from './testing/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

const kinds = (plans: { actions: { kind: string; type: string }[] }[]) =>
  plans.flatMap((p) => p.actions.map((a) => `${a.kind} ${a.type}`));

describe('SageMaker real-time endpoint', { sequential: true }, () => {
  let manifest: string;

  it('applies the iris example: artifact, model, config, endpoint and autoscaling, all tagged', async () => {
    manifest = await h.manifest('iris-realtime.yaml', 'realtime.yaml');
    const mp = h.modelport();
    const [plan] = await mp.plan(manifest);
    expect(plan?.actions.map((a) => a.kind)).toEqual([
      'create',
      'create',
      'create',
      'create',
      'create',
      'create',
    ]);
    const [outcome] = await mp.apply(manifest);
    expect(outcome?.result.failed).toEqual([]);
    expect(outcome?.result.ok).toBe(true);
    const endpoint = h.emulator.sagemaker.endpoints.get('iris');
    expect(endpoint?.status).toBe('InService');
    expect(h.emulator.sagemaker.models.size).toBe(1);
    expect(h.emulator.sagemaker.endpointConfigs.size).toBe(1);
    expect(h.emulator.autoscaling.targets.size).toBe(1);
    expect(h.emulator.autoscaling.policies.size).toBe(1);
    // Only an async endpoint that scales to zero needs the backlog alarm.
    expect(h.emulator.cloudwatch.alarms.size).toBe(0);
    const artifact = h.emulator.s3.objects().find((o) => o.key.endsWith('model.tar.gz'));
    expect(artifact?.tags['modelport.dev/managed-by']).toBe('modelport');
    const tags = h.emulator.sagemaker.tags.get(endpoint?.arn ?? '');
    expect(tags).toMatchObject({
      'modelport.dev/name': 'iris',
      'modelport.dev/kind': 'Endpoint',
      team: 'examples',
    });
    h.emulator.assertNoViolations();
  });

  it('plans all no-op, and re-applying makes zero write calls', async () => {
    const mp = h.modelport();
    expect(new Set(kinds(await mp.plan(manifest)).map((k) => k.split(' ')[0]))).toEqual(new Set(['noop']));
    const writes = h.emulator.writeCalls();
    const [again] = await mp.apply(manifest);
    expect(again?.result.executions).toBe(0);
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('invokes with JSON and CSV and answers what the modelport runtime answers', async () => {
    const mp = h.modelport();
    const payload = await readFile(join(ROOT, 'examples/iris/payload.json'));
    const response = await mp.invoke(manifest, { body: payload, contentType: 'application/json' });
    expect(response.status).toBe(200);
    expect(response.servedBy).toBe('AllTraffic');
    const expected = await referencePredictions(
      IRIS_MODEL,
      (JSON.parse(payload.toString()) as { instances: unknown[] }).instances,
    );
    expect(JSON.parse(Buffer.from(response.body).toString('utf8'))).toEqual(expected);
    const csv = await mp.invoke(manifest, {
      body: Buffer.from('5.1,3.5,1.4,0.2\n'),
      contentType: 'text/csv',
      accept: 'text/csv',
    });
    expect(csv.contentType).toContain('text/csv');
    expect(Buffer.from(csv.body).toString('utf8').trim().split(',')).toHaveLength(4);
  });

  it('maps a model error to invalidInput with the model message, and refuses 6 MB+ before sending', async () => {
    const mp = h.modelport();
    const bad = await mp
      .invoke(manifest, { body: Buffer.from('{"instances": [[1, 2]]}'), contentType: 'application/json' })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ kind: 'invalidInput' });
    expect((bad as Error).message).toMatch(/the model refused the request \(HTTP 400\)/);
    const calls = h.emulator.calls('InvokeEndpoint');
    const big = await mp
      .invoke(manifest, { body: Buffer.alloc(6 * 1024 * 1024 + 1, 0x20), contentType: 'application/json' })
      .catch((e: unknown) => e);
    expect(big).toMatchObject({ kind: 'invalidInput' });
    expect((big as { hint?: string }).hint).toMatch(/async/);
    expect(h.emulator.calls('InvokeEndpoint')).toBe(calls);
  });

  it('updates in place: new model and config, UpdateEndpoint, old ones deleted', async () => {
    const changed = await h.manifest('iris-realtime.yaml', 'realtime-changed.yaml', [
      ['timeoutSeconds: 30', 'timeoutSeconds: 45'],
    ]);
    const mp = h.modelport();
    const [plan] = await mp.plan(changed);
    const summary = plan?.actions.filter((a) => a.kind !== 'noop').map((a) => `${a.kind} ${a.type}`);
    expect(summary).toEqual([
      'create sagemaker:Model',
      'create sagemaker:EndpointConfig',
      'update sagemaker:Endpoint',
      'delete sagemaker:Model',
      'delete sagemaker:EndpointConfig',
    ]);
    const [outcome] = await mp.apply(changed);
    expect(outcome?.result.ok).toBe(true);
    expect(h.emulator.calls('UpdateEndpoint')).toBe(1);
    expect(h.emulator.sagemaker.models.size).toBe(1);
    expect(h.emulator.sagemaker.endpointConfigs.size).toBe(1);
    expect(new Set(kinds(await mp.plan(changed)).map((k) => k.split(' ')[0]))).toEqual(new Set(['noop']));
    manifest = changed;
  });

  it('lists the deployments it manages in a region (and needs the region)', async () => {
    const mp = h.modelport();
    expect(await mp.list({ provider: 'aws', region: 'us-east-1' })).toEqual([
      expect.objectContaining({
        kind: 'Endpoint',
        name: 'iris',
        provider: 'aws',
        state: 'ready',
        region: 'us-east-1',
      }),
    ]);
    await expect(mp.list({ provider: 'aws' })).rejects.toMatchObject({ kind: 'invalidInput' });
  });

  it('reports status, then destroys everything', async () => {
    const mp = h.modelport();
    const [status] = await mp.status(manifest);
    expect(status?.state).toBe('ready');
    expect(status?.url).toBe('https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/iris/invocations');
    const [outcome] = await mp.destroy(manifest);
    expect(outcome?.result.ok).toBe(true);
    expect(h.emulator.sagemaker.endpoints.size).toBe(0);
    expect(h.emulator.sagemaker.models.size).toBe(0);
    expect(h.emulator.sagemaker.endpointConfigs.size).toBe(0);
    expect(h.emulator.autoscaling.targets.size).toBe(0);
    expect(h.emulator.s3.objects().length).toBe(0);
    h.emulator.assertNoViolations();
  });
});
