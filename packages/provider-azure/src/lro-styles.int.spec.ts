// The three long-running-operation styles of ARM through the real SDK poller: answered at once with
// provisioningState Succeeded, polled through Azure-AsyncOperation, and polled through Location.
import type { LroStyle } from '@modelport/testkit';
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

describe('ARM long-running operations', { sequential: true }, () => {
  for (const style of ['sync', 'azure-async-operation', 'location'] as LroStyle[]) {
    it(`apply and destroy converge with ${style}`, async () => {
      h.emulator.faults.lroStyle = style;
      const polls = () => h.emulator.calls('GET operations') + h.emulator.calls('GET operationResults');
      const before = polls();
      const file = await h.manifest('iris-online.yaml', `${style}.yaml`, [
        [/name: iris$/m, `name: lro-${style.slice(0, 5)}`],
        [/ {2}scaling:\n(?: {4}.*\n)+/, ''],
      ]);
      const [applied] = await h.modelport().apply(file);
      expect(applied?.result.failed).toEqual([]);
      const deployment = h.emulator.list('onlineEndpoints/deployments')[0];
      expect((deployment?.body['properties'] as { provisioningState: string }).provisioningState).toBe(
        'Succeeded',
      );
      const [destroyed] = await h.modelport().destroy(file);
      expect(destroyed?.result.failed).toEqual([]);
      expect(h.emulator.list('onlineEndpoints')).toEqual([]);
      if (style === 'sync') expect(polls()).toBe(before);
      else expect(polls()).toBeGreaterThan(before);
      h.emulator.faults.lroStyle = undefined;
    });
  }

  it('a Failed operation through Azure-AsyncOperation is reported with its reason', async () => {
    const file = await h.manifest('iris-online.yaml', 'failed.yaml', [[/name: iris$/m, 'name: lro-failed']]);
    h.emulator.faults.failOperation('lro-failed', 'QuotaExceeded: not enough quota for Standard_F2s_v2');
    const [applied] = await h.modelport().apply(file);
    expect(applied?.result.ok).toBe(false);
    expect(applied?.result.failed[0]?.error.message).toMatch(/not enough quota/);
    // The endpoint that failed and everything created before it were rolled back.
    expect(h.emulator.list('onlineEndpoints')).toEqual([]);
    expect(h.emulator.list('models/versions')).toEqual([]);
  });
});
