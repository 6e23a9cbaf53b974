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

/** The Azure provider: Azure ML managed online endpoints, command jobs for batch, and async emulated by command jobs. */
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
      via: 'a command job per request running the serving image in batch mode (payload and result in the workspace datastore)',
      maxPayloadMB: 1024,
      maxTimeoutSeconds: 3600,
      autoscaling: false,
      rolloutStrategies: ['replace'],
      shadow: false,
      note: 'Azure ML has no asynchronous endpoint: each request runs as a command job (minutes, not seconds); needs spec.async.allowEmulation; spec.async.maxRetries is not applied',
    },
  },
  batch: {
    support: 'native',
    via: 'an Azure ML command job running the serving image in batch mode over the input folder',
    engines: ['command-job'],
    defaultEngine: 'command-job',
    formats: ['jsonl', 'csv'],
    schedule: false,
    triggerOnNewInput: false,
    note: 'needs extensions.azure.computeCluster; writes <file>.out and <file>.errors.jsonl per input file; miniBatchSize and errorThreshold count records; maxRetries reruns a failed job (finished files are skipped)',
  },
  requiredExtensions: ['subscriptionId', 'resourceGroup', 'workspace'],
  // The command jobs of BatchJob and of emulated async run on a compute cluster of the workspace.
  requiredExtensionsFor: { batch: ['computeCluster'], async: ['computeCluster'] },
  instances: INSTANCE_CATALOG,
};
