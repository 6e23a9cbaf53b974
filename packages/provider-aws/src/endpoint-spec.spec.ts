import type { LoadedEndpoint } from '@modelport/core';
import { describe, expect, it } from 'vitest';
import { deploymentConfig } from './endpoint-spec.js';
import type { AwsSettings } from './settings.js';

const settings = (extra: Partial<AwsSettings> = {}): AwsSettings => ({
  name: 'iris',
  kind: 'Endpoint',
  region: 'us-east-1',
  roleArn: 'arn:aws:iam::123456789012:role/r',
  bucket: 'b',
  prefix: 'modelport',
  subnets: [],
  securityGroups: [],
  rollbackAlarms: [],
  userTags: {},
  ...extra,
});

const endpoint = (spec: Record<string, unknown>): LoadedEndpoint =>
  ({
    manifest: { kind: 'Endpoint', metadata: { name: 'iris' }, spec: { model: { format: 'onnx' }, ...spec } },
  }) as unknown as LoadedEndpoint;

describe('deploymentConfig', () => {
  it('is SageMaker’s default for strategy replace without alarms', () => {
    expect(deploymentConfig(endpoint({}), settings())).toBeUndefined();
  });

  it('blue-green: all at once after the bake time, rolled back by the given alarms', () => {
    expect(
      deploymentConfig(
        endpoint({ traffic: { strategy: 'blue-green', bakeTimeSeconds: 300 } }),
        settings({ rollbackAlarms: ['5xx'] }),
      ),
    ).toEqual({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
        TerminationWaitInSeconds: 300,
      },
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: '5xx' }] },
    });
  });

  it('canary with its percentage, and linear through the extension', () => {
    expect(
      deploymentConfig(
        endpoint({ traffic: { strategy: 'canary', canaryPercent: 10, bakeTimeSeconds: 60 } }),
        settings(),
      )?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration,
    ).toEqual({
      Type: 'CANARY',
      WaitIntervalInSeconds: 60,
      CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 },
    });
    expect(
      deploymentConfig(endpoint({ traffic: { canaryPercent: 25 } }), settings({ deploymentStyle: 'linear' }))
        ?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration,
    ).toMatchObject({
      Type: 'LINEAR',
      LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 25 },
    });
  });

  it('leaves serverless and async endpoints to SageMaker’s default', () => {
    expect(
      deploymentConfig(endpoint({ mode: 'serverless', traffic: { strategy: 'blue-green' } }), settings()),
    ).toBeUndefined();
  });
});
