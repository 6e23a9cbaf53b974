import type { Capabilities, ModeCapabilities } from '@modelport/core';
import { ACCELERATORS, INSTANCE_CATALOG } from './instance-catalog.js';
import { AWS_REGIONS } from './regions.js';

// Declared as data, with no SDK import: `modelport validate` and `modelport providers` read this module only.

const realtime: ModeCapabilities = {
  support: 'native',
  via: 'SageMaker real-time endpoint',
  maxPayloadMB: 6,
  maxTimeoutSeconds: 60,
  scaleToZero: false,
  autoscaling: true,
  scalingMetrics: ['requestsPerReplica', 'concurrency', 'cpuUtilization', 'gpuUtilization'],
  rolloutStrategies: ['replace', 'blue-green', 'canary'],
  shadow: false,
  accelerators: ACCELERATORS,
};

/** The AWS provider: SageMaker endpoints of the three kinds, Batch Transform and AWS Batch. */
export const capabilities: Capabilities = {
  provider: 'aws',
  displayName: 'AWS SageMaker',
  requiresRegion: true,
  regions: AWS_REGIONS,
  modelFormats: ['onnx', 'container'],
  modelUriSchemes: ['file', 's3'],
  // SageMaker names are at most 63 characters; models and endpoint configs get a `-<hash8>` suffix.
  maxNameLength: 54,
  endpoint: {
    realtime,
    serverless: {
      ...realtime,
      via: 'SageMaker serverless endpoint',
      maxPayloadMB: 4,
      scaleToZero: true,
      autoscaling: true,
      rolloutStrategies: ['replace', 'blue-green'],
      accelerators: [],
      note: 'memory from compute.memoryGiB (1–6 GiB), maximum concurrency from scaling.maxReplicas (1–200)',
    },
    async: {
      ...realtime,
      via: 'SageMaker asynchronous endpoint (payloads through S3)',
      maxPayloadMB: 1024,
      maxTimeoutSeconds: 3600,
      scaleToZero: true,
      scalingMetrics: [
        'backlogPerReplica',
        'requestsPerReplica',
        'concurrency',
        'cpuUtilization',
        'gpuUtilization',
      ],
      rolloutStrategies: ['replace', 'blue-green'],
    },
  },
  batch: {
    support: 'native',
    via: 'SageMaker Batch Transform, or the model container as an AWS Batch job',
    engines: ['sagemaker-transform', 'aws-batch'],
    defaultEngine: 'sagemaker-transform',
    formats: ['jsonl', 'csv'],
    schedule: true,
    triggerOnNewInput: true,
    maxMiniBatchMB: 100,
    note: 'schedules and new-input triggers need engine aws-batch (EventBridge Scheduler and rules)',
  },
  requiredExtensions: ['roleArn', 'bucket'],
  instances: INSTANCE_CATALOG.map(({ transform: _transform, ...spec }) => spec),
};
