import type { LoadedEndpoint } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { onlineResources } from './online.js';
import { RT } from './resource-types.js';
import { settingsOf } from './settings.js';

function manifest(spec: Record<string, unknown>): LoadedEndpoint {
  return {
    file: '/tmp/iris.yaml',
    warnings: [],
    manifest: {
      apiVersion: 'modelport.dev/v1alpha1',
      kind: 'Endpoint',
      metadata: { name: 'iris', labels: { 'app.kubernetes.io/name': 'iris' } },
      spec: {
        mode: 'realtime',
        model: { format: 'onnx', uri: './model.onnx' },
        target: { provider: 'azure', region: 'East US' },
        extensions: { azure: { subscriptionId: 's', resourceGroup: 'rg', workspace: 'ws' } },
        ...spec,
      },
    },
  } as unknown as LoadedEndpoint;
}

const source = { localPath: '/tmp/model.onnx', sha256: 'ab'.repeat(32) };
const IMAGE = 'acr.azurecr.io/modelport-serving:0.1.0';

function resources(spec: Record<string, unknown>) {
  const m = manifest(spec);
  return onlineResources(m, settingsOf(m), source, IMAGE);
}

const deploymentOf = (spec: Record<string, unknown>) =>
  resources(spec).find((r) => r.type === RT.onlineDeployment);

describe('onlineResources', () => {
  it('names the deployment from what makes it, and sends it all the traffic', () => {
    const all = resources({ limits: { timeoutSeconds: 30 } });
    expect(all.map((r) => r.type)).toEqual([
      RT.model,
      RT.environment,
      RT.onlineEndpoint,
      RT.onlineDeployment,
      RT.traffic,
    ]);
    const deployment = all[3];
    expect(deployment?.name).toMatch(/^iris\/d[0-9a-f]{8}$/);
    expect(all[4]?.properties).toEqual({ traffic: { [deployment?.name.split('/')[1] as string]: 100 } });
    expect(all[2]?.properties).toEqual({ authMode: 'Key', location: 'eastus' });
  });

  it('a changed limit or size is a new deployment (blue-green); a changed replica count is not', () => {
    const base = deploymentOf({ limits: { timeoutSeconds: 30 } });
    expect(deploymentOf({ limits: { timeoutSeconds: 30 } })?.name).toBe(base?.name);
    expect(deploymentOf({ limits: { timeoutSeconds: 20 } })?.name).not.toBe(base?.name);
    expect(deploymentOf({ limits: { timeoutSeconds: 30 }, compute: { cpu: 8 } })?.name).not.toBe(base?.name);
    const scaled = deploymentOf({
      limits: { timeoutSeconds: 30 },
      scaling: { minReplicas: 3, maxReplicas: 3 },
    });
    expect(scaled?.name).toBe(base?.name);
    expect(scaled?.properties['instanceCount']).toBe(3);
    // Under autoscale the instance count is Azure Monitor's: not part of the desired state.
    const autoscaled = deploymentOf({
      limits: { timeoutSeconds: 30 },
      scaling: { minReplicas: 1, maxReplicas: 4 },
    });
    expect(autoscaled?.properties['instanceCount']).toBeUndefined();
  });

  it('caps the request timeout at 180 s and maps compute to the smallest size that fits', () => {
    const d = deploymentOf({ limits: { timeoutSeconds: 600 }, compute: { cpu: 4, memoryGiB: 16 } });
    expect(d?.properties['requestTimeout']).toBe('PT180S');
    expect(d?.properties['instanceType']).toBe('Standard_E4s_v3');
  });
});
