import type { Capabilities, ModeCapabilities } from '@modelport/core';
import { UNSUPPORTED_MODE } from '@modelport/core';
import { ACCELERATORS, MACHINE_CATALOG } from './machine-types.js';
import { GCP_REGIONS } from './regions.js';

// Declared as data, with no SDK import: `modelport validate` and `modelport providers` read this module only.

const realtime: ModeCapabilities = {
  support: 'native',
  via: 'Vertex AI endpoint with a deployed model (dedicated resources)',
  // 1.5 MB on a shared endpoint, 10 MB on a dedicated one (extensions.gcp.dedicatedEndpoint): validation,
  // plans, migrations and invoke all apply the limit of the endpoint the manifest asks for.
  maxPayloadMB: 1.5,
  largerPayloadWith: { extension: 'dedicatedEndpoint', maxPayloadMB: 10 },
  maxTimeoutSeconds: 3600,
  scaleToZero: false,
  autoscaling: true,
  scalingMetrics: ['cpuUtilization', 'gpuUtilization', 'requestsPerReplica'],
  rolloutStrategies: ['replace', 'blue-green', 'canary'],
  shadow: false,
  accelerators: ACCELERATORS,
  note: 'requests are limited to 1.5 MB on shared endpoints, 10 MB with extensions.gcp.dedicatedEndpoint',
};

/** The GCP provider: Vertex AI endpoints (traffic split, autoscaling) and batch prediction jobs. */
export const capabilities: Capabilities = {
  provider: 'gcp',
  displayName: 'GCP Vertex AI',
  requiresRegion: true,
  regions: GCP_REGIONS,
  modelFormats: ['onnx', 'container', 'sklearn', 'xgboost', 'tensorflow', 'pytorch'],
  modelUriSchemes: ['file', 'gs'],
  // Model and deployed-model ids are at most 63 characters and get a `-<hash8>` suffix.
  maxNameLength: 54,
  endpoint: {
    realtime,
    serverless: {
      ...UNSUPPORTED_MODE,
      note: 'Vertex AI has no serverless prediction; use mode realtime with scaling.minReplicas 1 (its smallest footprint)',
    },
    async: {
      ...realtime,
      support: 'emulated',
      via: 'a Vertex AI batch prediction job per request (spec.async.allowEmulation)',
      maxPayloadMB: 1024,
      maxTimeoutSeconds: 24 * 3600,
      autoscaling: false,
      rolloutStrategies: ['replace'],
      note: 'Vertex AI has no asynchronous endpoint: each request becomes a batch prediction job (minutes of start-up, results in GCS)',
    },
  },
  batch: {
    support: 'native',
    via: 'Vertex AI batch prediction job',
    engines: ['vertex-batch-prediction'],
    defaultEngine: 'vertex-batch-prediction',
    formats: ['jsonl', 'csv'],
    schedule: false,
    triggerOnNewInput: false,
    note: 'schedules and new-input triggers need Cloud Scheduler or Eventarc, which modelport does not manage on GCP',
  },
  requiredExtensions: ['project', 'bucket'],
  instances: MACHINE_CATALOG.map(({ vertexAccelerator: _v, ...spec }) => spec),
};
