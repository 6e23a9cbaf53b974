// Faults on the wire: ARM throttling (429 + Retry-After) and 500s are retried by the SDK; a deployment
// whose provisioning ends Failed leaves the traffic on the old deployment and nothing behind.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

describe('Azure faults (emulated)', { sequential: true }, () => {
  let file: string;

  it('throttled, then OK: 429s with Retry-After and a 500 are retried and the apply converges', async () => {
    file = await h.manifest('iris-online.yaml', 'iris.yaml', [[/name: iris$/m, 'name: faulty']]);
    h.emulator.faults.throttle('PUT onlineEndpoints', 2, 20).throttle('GET models/versions', 1, 5);
    h.emulator.faults.fail500('PUT onlineEndpoints/deployments', 1);
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.failed).toEqual([]);
    expect(h.emulator.calls('PUT onlineEndpoints')).toBeGreaterThanOrEqual(3);
    expect(h.emulator.find('onlineEndpoints', 'faulty')).toBeDefined();
  });

  it('a new deployment that fails: traffic stays on the old one, the failed one and its assets are removed', async () => {
    const endpoint = h.emulator.find('onlineEndpoints', 'faulty');
    const before = structuredClone((endpoint?.body['properties'] as { traffic: unknown }).traffic);
    const deploymentsBefore = h.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    const modelsBefore = h.emulator.list('models/versions').length;
    const changed = await h.manifest('iris-online.yaml', 'iris-v2.yaml', [
      [/name: iris$/m, 'name: faulty'],
      ['timeoutSeconds: 30', 'timeoutSeconds: 10'],
    ]);
    h.emulator.faults.failOperation('*', 'ResourceNotReady: User container has crashed or terminated.');
    const [outcome] = await h.modelport().apply(changed);
    expect(outcome?.result.ok).toBe(false);
    expect(outcome?.result.failed[0]?.error.message).toMatch(/crashed or terminated/);
    expect(outcome?.result.failed[0]?.error.retryable).toBe(false);
    const after = h.emulator.find('onlineEndpoints', 'faulty');
    expect((after?.body['properties'] as { traffic: unknown }).traffic).toEqual(before);
    expect(h.emulator.list('onlineEndpoints/deployments').map((d) => d.name)).toEqual(deploymentsBefore);
    expect(h.emulator.list('models/versions')).toHaveLength(modelsBefore);
    // The old deployment still answers.
    const plan = await h.modelport().plan(file);
    expect(plan[0]?.actions.every((a) => a.kind === 'noop')).toBe(true);
  });

  it('a canary that is unhealthy after its bake time: traffic rolled back, the canary removed', async () => {
    const endpoint = () => h.emulator.find('onlineEndpoints', 'faulty');
    const before = structuredClone((endpoint()?.body['properties'] as { traffic: unknown }).traffic);
    const old = h.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    const canary = await h.manifest('iris-online.yaml', 'iris-canary.yaml', [
      [/name: iris$/m, 'name: faulty'],
      ['timeoutSeconds: 30', 'timeoutSeconds: 12'],
      ['strategy: blue-green', 'strategy: canary\n    canaryPercent: 10'],
    ]);
    // The canary takes its 10 %, then crashes during the bake.
    const stop = h.emulator.faults.onCall((call, phase) => {
      if (call.operation !== 'PUT onlineEndpoints' || phase !== 'after') return;
      const traffic = (endpoint()?.body['properties'] as { traffic: Record<string, number> }).traffic;
      const fresh = Object.keys(traffic).find((d) => !old.includes(d) && traffic[d] === 10);
      const deployment =
        fresh === undefined ? undefined : h.emulator.find('onlineEndpoints/deployments', fresh);
      if (deployment !== undefined)
        (deployment.body['properties'] as Record<string, unknown>)['provisioningState'] = 'Failed';
    });
    const [outcome] = await h.modelport().apply(canary);
    stop();
    expect(outcome?.result.ok).toBe(false);
    expect(outcome?.result.failed[0]?.error.message).toMatch(/canary deployment .* is Failed/);
    expect((endpoint()?.body['properties'] as { traffic: unknown }).traffic).toEqual(before);
    expect(h.emulator.list('onlineEndpoints/deployments').map((d) => d.name)).toEqual(old);
  });

  it('a model the inference server cannot load: the deployment fails, and the new endpoint is rolled back', async () => {
    const broken = join(h.dir, 'broken.onnx');
    await writeFile(broken, 'not an onnx model');
    const file = await h.manifest('iris-online.yaml', 'broken.yaml', [
      [/name: iris$/m, 'name: broken'],
      [/uri: .*model\.onnx/, `uri: ${broken}`],
    ]);
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.ok).toBe(false);
    // The serving image exits when the mounted model does not load: ResourceNotReady, with its log lines.
    const message = outcome?.result.failed[0]?.error.message ?? '';
    expect(message).toMatch(/ResourceNotReady.*User container has crashed or terminated \(exit code 1\)/s);
    expect(message).toMatch(/model load failed/);
    expect(h.emulator.find('onlineEndpoints', 'broken')).toBeUndefined();
    expect(h.emulator.list('models/versions').filter((m) => m.id.includes('/models/broken/'))).toEqual([]);
  });

  it('destroy after the faults leaves nothing', async () => {
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
  });
});
