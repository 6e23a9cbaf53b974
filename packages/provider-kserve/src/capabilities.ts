import type { Capabilities } from '@modelport/core';
import { UNSUPPORTED_BATCH, UNSUPPORTED_MODE } from '@modelport/core';

// Declared as data, with no Kubernetes client import: `modelport validate` and `modelport providers` read
// this module only.

/** The KServe provider: InferenceServices (serverless mode scales to zero) on the user's cluster. */
export const capabilities: Capabilities = {
  provider: 'kserve',
  displayName: 'KServe',
  // A cluster is chosen by kubeconfig context, never by region.
  requiresRegion: false,
  regions: [],
  modelFormats: ['onnx', 'container'],
  // KServe's storage initializer reads these; a local path must be uploaded first (a capability error).
  modelUriSchemes: ['s3', 'gs', 'pvc', 'https'],
  // InferenceService names become Knative service names with a `-predictor` suffix (DNS labels of 63).
  maxNameLength: 45,
  endpoint: {
    realtime: {
      support: 'native',
      via: 'KServe InferenceService (serverless mode)',
      maxPayloadMB: 100,
      maxTimeoutSeconds: 3600,
      scaleToZero: true,
      autoscaling: true,
      scalingMetrics: ['requestsPerReplica', 'concurrency', 'cpuUtilization'],
      rolloutStrategies: ['replace', 'canary'],
      shadow: false,
      accelerators: ['nvidia-t4', 'nvidia-a10g', 'nvidia-l4', 'nvidia-a100', 'nvidia-h100'],
    },
    serverless: {
      ...UNSUPPORTED_MODE,
      note: 'use mode realtime with scaling.scaleToZero: KServe serverless mode',
    },
    async: { ...UNSUPPORTED_MODE, note: 'KServe has no asynchronous inference endpoint' },
  },
  batch: { ...UNSUPPORTED_BATCH, note: 'KServe serves online inference only' },
  requiredExtensions: [],
};
