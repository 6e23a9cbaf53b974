// The iris example on the emulated Azure ML as a managed online endpoint: the real SDK clients on the wire
// (HTTPS, bearer tokens), every PUT checked against the official ARM schema, blobs in azurite.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelportError } from '@modelport/core';
import { referencePredictions } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import {
  IRIS_MODEL,
  RESOURCE_GROUP,
  ROOT,
  startHarness,
  SUBSCRIPTION,
  WORKSPACE,
} from './testing/harness.js';

let h: Harness;
const payload = JSON.parse(await readFile(join(ROOT, 'examples/iris/payload.json'), 'utf8')) as {
  instances: number[][];
};

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

async function invoke(file: string): Promise<{ body: unknown; servedBy: string | undefined }> {
  const response = await h.modelport().invoke(file, {
    body: new TextEncoder().encode(JSON.stringify(payload)),
    contentType: 'application/json',
  });
  return {
    body: JSON.parse(new TextDecoder().decode(response.body)) as unknown,
    servedBy: response.servedBy,
  };
}

describe('Azure ML online endpoint (emulated)', { sequential: true }, () => {
  let file: string;

  it('applies the iris example: model, environment, endpoint, deployment, traffic, autoscale', async () => {
    file = await h.manifest('iris-online.yaml', 'iris.yaml');
    const plans = await h.modelport().plan(file);
    expect(plans[0]?.actions.map((a) => `${a.kind} ${a.type}`)).toEqual([
      'create azureml:ModelVersion',
      'create azureml:EnvironmentVersion',
      'create azureml:OnlineEndpoint',
      'create azureml:OnlineDeployment',
      'create azureml:Traffic',
      'create insights:AutoscaleSetting',
    ]);
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.failed).toEqual([]);
    const endpoint = h.emulator.find('onlineEndpoints', 'iris');
    const traffic = (endpoint?.body['properties'] as { traffic: Record<string, number> }).traffic;
    expect(Object.values(traffic)).toEqual([100]);
    const deployment = h.emulator.list('onlineEndpoints/deployments')[0];
    expect(deployment?.body['sku']).toMatchObject({ capacity: 1 });
    expect((deployment?.body['properties'] as { instanceType: string }).instanceType).toBe('Standard_F2s_v2');
    const scale = h.emulator.find('autoscalesettings', 'iris-autoscale');
    expect(scale?.body['properties']).toMatchObject({ targetResourceUri: deployment?.id });
  });

  it('invoke returns the runtime predictions (what the local provider answers)', async () => {
    const reference = await referencePredictions(IRIS_MODEL, payload.instances);
    const answer = await invoke(file);
    expect(answer.body).toEqual(reference);
    expect(answer.servedBy).toMatch(/^d[0-9a-f]{8}$/);
  });

  it('re-applying makes no write call', async () => {
    const writes = h.emulator.writeCalls();
    const plans = await h.modelport().plan(file);
    expect(plans[0]?.actions.map((a) => a.kind)).toEqual(['noop', 'noop', 'noop', 'noop', 'noop', 'noop']);
    const [again] = await h.modelport().apply(file);
    expect(again?.result.executions).toBe(0);
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('blue-green: a changed limit makes a new deployment, moves traffic, removes the old one', async () => {
    const before = h.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    const changed = await h.manifest('iris-online.yaml', 'iris-v2.yaml', [
      ['timeoutSeconds: 30', 'timeoutSeconds: 20'],
    ]);
    const plans = await h.modelport().plan(changed);
    expect(plans[0]?.actions.filter((a) => a.kind !== 'noop').map((a) => `${a.kind} ${a.type}`)).toEqual([
      'create azureml:OnlineDeployment',
      'update azureml:Traffic',
      'update insights:AutoscaleSetting',
      'delete azureml:OnlineDeployment',
    ]);
    const [outcome] = await h.modelport().apply(changed);
    expect(outcome?.result.failed).toEqual([]);
    const after = h.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    expect((await invoke(changed)).servedBy).toBe(after[0]);
    expect((await h.modelport().plan(changed))[0]?.actions.every((a) => a.kind === 'noop')).toBe(true);
  });

  it('list finds the managed endpoint in the workspace by its tags', async () => {
    const found = await h.modelport().list({
      provider: 'azure',
      extensions: {
        azure: { subscriptionId: SUBSCRIPTION, resourceGroup: RESOURCE_GROUP, workspace: WORKSPACE },
      },
    });
    expect(found.map((d) => `${d.kind} ${d.name} ${d.state}`)).toEqual(['Endpoint iris ready']);
    expect(found[0]?.url).toMatch(/\/score$/);
  });

  it('status reports the endpoint ready with its scoring URI and traffic', async () => {
    const [status] = await h.modelport().status(file);
    expect(status?.state).toBe('ready');
    expect(status?.url).toMatch(/\/score$/);
  });

  it('canary: canaryPercent to the new deployment first, then promoted to 100', async () => {
    const seen: Record<string, number>[] = [];
    const stop = h.emulator.faults.onCall((call, phase) => {
      if (call.operation === 'PUT onlineEndpoints' && phase === 'after') {
        const props = h.emulator.find('onlineEndpoints', 'iris')?.body['properties'] as {
          traffic: Record<string, number>;
        };
        seen.push({ ...props.traffic });
      }
    });
    const canary = await h.manifest('iris-online.yaml', 'iris-canary.yaml', [
      ['timeoutSeconds: 30', 'timeoutSeconds: 25'],
      ['strategy: blue-green', 'strategy: canary\n    canaryPercent: 20'],
    ]);
    const [outcome] = await h.modelport().apply(canary);
    stop();
    expect(outcome?.result.failed).toEqual([]);
    expect(seen.map((t) => Object.values(t).sort((a, b) => a - b))).toEqual([[20, 80], [100]]);
    const [live] = h.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    expect(seen[1]).toEqual({ [live as string]: 100 });
    expect(seen[0]?.[live as string]).toBe(20);
  });

  it('invoke checks the payload limit before sending, and maps a model error (424)', async () => {
    const calls = h.emulator.totalCalls();
    const big = await h
      .modelport()
      .invoke(file, { body: new Uint8Array(1.2 * 1024 * 1024), contentType: 'application/json' })
      .then(
        () => undefined,
        (e: unknown) => e as ModelportError,
      );
    expect(big?.kind).toBe('invalidInput');
    expect(big?.message).toMatch(/above the 1 MB/);
    expect(h.emulator.totalCalls()).toBe(calls);
    const bad = await h
      .modelport()
      .invoke(file, {
        body: new TextEncoder().encode('{"instances": "nope"}'),
        contentType: 'application/json',
      })
      .then(
        () => undefined,
        (e: unknown) => e as ModelportError,
      );
    expect(bad?.kind).toBe('unavailable');
    expect(bad?.message).toMatch(/424/);
  });

  it('destroy removes everything, autoscale included', async () => {
    const [outcome] = await h.modelport().destroy(file);
    expect(outcome?.result.failed).toEqual([]);
    for (const kind of [
      'onlineEndpoints',
      'onlineEndpoints/deployments',
      'models/versions',
      'environments/versions',
      'autoscalesettings',
    ]) {
      expect(h.emulator.list(kind), kind).toEqual([]);
    }
    h.emulator.assertNoViolations();
  });
});
