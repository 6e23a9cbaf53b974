import type { Capabilities, ModeCapabilities } from '@modelport/core';
import { UNSUPPORTED_MODE } from '@modelport/core';
import { ACCELERATORS, INSTANCE_CATALOG } from './instance-catalog.js';
import { AZURE_REGIONS } from './regions.js';

// Declared as data, with no SDK import: `modelport validate` and `modelport providers` read this module only.

const realtime: ModeCapabilities = {
  support: 'native',
  via: 'Azure ML managed online endpoint + deployment',
  // The request body limit modelport enforces before sending (managed online endpoints take 1.5 MB).
  maxPayloadMB: 1.5,
  // requestTimeout of a deployment is at most 180 s (default 5 s).
  maxTimeoutSeconds: 180,
  scaleToZero: false,
  autoscaling: true,
  scalingMetrics: ['cpuUtilization', 'gpuUtilization', 'requestsPerReplica'],
  rolloutStrategies: ['replace', 'blue-green', 'canary'],
  // Mirror traffic arrived in api-version 2023-04-01; the SDK here (2.1.1) speaks 2022-10-01.
  shadow: false,
  accelerators: ACCELERATORS,
  note: 'shadow (mirror traffic) needs Azure ML api-version 2023-04-01, newer than the SDK modelport uses',
};

/** The Azure provider: Azure ML managed online endpoints, batch endpoints, and async emulated by batch jobs. */
export const capabilities: Capabilities = {
  provider: 'azure',
  displayName: 'Azure Machine Learning',
  requiresRegion: true,
  regions: AZURE_REGIONS,
  modelFormats: ['onnx', 'container'],
  modelUriSchemes: ['file', 'azureml', 'https'],
  // Online endpoint names are 3–32 characters; deployments get their own `d<hash8>` names.
  maxNameLength: 32,
  endpoint: {
    realtime,
    serverless: {
      ...UNSUPPORTED_MODE,
      note: 'Azure ML has no scale-to-zero online endpoint; the nearest is mode: realtime with scaling.minReplicas 1',
    },
    async: {
      ...realtime,
      support: 'emulated',
      via: 'a batch endpoint job per request (payload and result in the workspace datastore)',
      maxPayloadMB: 1024,
      maxTimeoutSeconds: 3600,
      autoscaling: false,
      rolloutStrategies: ['replace'],
      shadow: false,
      note: 'Azure ML has no asynchronous endpoint: each request runs as a batch job (minutes, not seconds); needs spec.async.allowEmulation',
    },
  },
  batch: {
    support: 'native',
    via: 'Azure ML batch endpoint + deployment, invoked as a job over the input folder',
    engines: ['batch-endpoint'],
    defaultEngine: 'batch-endpoint',
    formats: ['jsonl', 'csv'],
    schedule: false,
    triggerOnNewInput: false,
    note: 'needs extensions.azure.computeCluster; output rows are appended into one file (outputAction AppendRow)',
  },
  requiredExtensions: ['subscriptionId', 'resourceGroup', 'workspace'],
  // Batch endpoints and the batch jobs that emulate async run on a compute cluster of the workspace.
  requiredExtensionsFor: { batch: ['computeCluster'], async: ['computeCluster'] },
  instances: INSTANCE_CATALOG,
};
