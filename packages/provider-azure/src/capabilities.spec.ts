import { describe, expect, it } from 'vitest';
import { capabilities } from './capabilities.js';
import { clientConfigFromEnv, StaticTokenCredential } from './client-factory.js';
import { INSTANCE_CATALOG, pickInstanceType } from './instance-catalog.js';
import { optionsFromEnv } from './options.js';
import { AZURE_TAGS, azureTagName } from './settings.js';

describe('capabilities', () => {
  it('declares realtime native, serverless none, async emulated (via batch), batch native', () => {
    expect(capabilities.endpoint.realtime.support).toBe('native');
    expect(capabilities.endpoint.serverless.support).toBe('none');
    expect(capabilities.endpoint.async.support).toBe('emulated');
    expect(capabilities.endpoint.async.via).toMatch(/batch/);
    expect(capabilities.batch.support).toBe('native');
    expect(capabilities.requiredExtensions).toEqual(['subscriptionId', 'resourceGroup', 'workspace']);
    expect(capabilities.instances).toBe(INSTANCE_CATALOG);
  });

  it('names accelerators as the AWS catalog does', () => {
    const accelerators = new Set(
      INSTANCE_CATALOG.flatMap((t) => (t.accelerator === undefined ? [] : [t.accelerator.type])),
    );
    expect([...accelerators].sort()).toEqual(['nvidia-a100', 'nvidia-h100', 'nvidia-t4', 'nvidia-v100']);
  });
});

describe('pickInstanceType', () => {
  it('picks the smallest size that fits', () => {
    expect(pickInstanceType({})?.name).toBe('Standard_DS2_v2');
    expect(pickInstanceType({ cpu: 2, memoryGiB: 4 })?.name).toBe('Standard_F2s_v2');
    expect(pickInstanceType({ cpu: 4, memoryGiB: 14 })?.name).toBe('Standard_DS3_v2');
    expect(pickInstanceType({ accelerator: { type: 'nvidia-t4' } })?.name).toBe('Standard_NC4as_T4_v3');
    expect(pickInstanceType({ accelerator: { type: 'nvidia-v100', count: 2 } })?.name).toBe(
      'Standard_NC12s_v3',
    );
    expect(pickInstanceType({ accelerator: { type: 'nvidia-h100' } })?.name).toBe('Standard_NC40ads_H100_v5');
    expect(pickInstanceType({ accelerator: { type: 'nvidia-l4' } })).toBeUndefined();
  });
});

describe('configuration from the environment', () => {
  it('reads the ARM and blob endpoints and a token, and refuses a plain-http ARM endpoint', () => {
    const config = clientConfigFromEnv({
      MODELPORT_AZURE_ARM_ENDPOINT: 'https://127.0.0.1:8443/',
      MODELPORT_AZURE_BLOB_ENDPOINT: 'http://127.0.0.1:10000/devstoreaccount1',
      MODELPORT_AZURE_ACCESS_TOKEN: 'secret-token',
    });
    expect(config.armEndpoint).toBe('https://127.0.0.1:8443');
    expect(config.blobEndpoint).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(config.credential).toBeInstanceOf(StaticTokenCredential);
    expect(JSON.stringify(config)).not.toContain('secret-token');
    expect(() => clientConfigFromEnv({ MODELPORT_AZURE_ARM_ENDPOINT: 'http://127.0.0.1:1' })).toThrow(
      /https/,
    );
    expect(clientConfigFromEnv({})).toEqual({});
  });

  it('reads poll and wait options', () => {
    expect(optionsFromEnv({ MODELPORT_AZURE_POLL_MS: '20', MODELPORT_AZURE_WAIT_TIMEOUT_S: '60' })).toEqual({
      pollIntervalMs: 20,
      waitTimeoutMs: 60_000,
    });
    expect(() => optionsFromEnv({ MODELPORT_AZURE_POLL_MS: '-1' })).toThrow(/positive/);
  });
});

describe('tag names', () => {
  it("writes modelport's and the user's tag names without the characters Azure refuses", () => {
    expect(AZURE_TAGS).toEqual({
      managedBy: 'modelport.dev.managed-by',
      name: 'modelport.dev.name',
      kind: 'modelport.dev.kind',
      specHash: 'modelport.dev.spec-hash',
    });
    expect(azureTagName('app.kubernetes.io/name')).toBe('app.kubernetes.io.name');
    expect(azureTagName('team')).toBe('team');
  });
});
