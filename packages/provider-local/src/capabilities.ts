import type { Capabilities, ModeCapabilities } from '@modelport/core';
import { UNSUPPORTED_MODE } from '@modelport/core';

const realtime: ModeCapabilities = {
  support: 'native',
  via: 'a runtime server process on 127.0.0.1',
  maxPayloadMB: 100,
  maxTimeoutSeconds: 3600,
  scaleToZero: false,
  autoscaling: false,
  rolloutStrategies: ['replace', 'blue-green'],
  shadow: false,
  accelerators: [],
};

/** The local provider: this machine, CPU only, one server process per endpoint. Imports nothing heavy. */
export const capabilities: Capabilities = {
  provider: 'local',
  displayName: 'the local provider',
  requiresRegion: false,
  regions: [],
  modelFormats: ['onnx'],
  modelUriSchemes: ['file'],
  maxNameLength: 63,
  endpoint: {
    realtime,
    serverless: {
      ...realtime,
      support: 'emulated',
      via: 'an always-on local server (nothing to scale down on one machine)',
      note: 'served like realtime',
    },
    async: {
      ...UNSUPPORTED_MODE,
      support: 'native',
      via: 'a durable SQLite queue with a worker and an output folder',
      maxPayloadMB: 1024,
      maxTimeoutSeconds: 86_400,
      rolloutStrategies: ['replace'],
    },
  },
  batch: {
    support: 'native',
    via: 'a resumable file-to-file runner',
    engines: ['local'],
    defaultEngine: 'local',
    formats: ['jsonl', 'csv'],
    schedule: false,
    triggerOnNewInput: false,
    note: 'runs in the foreground of `modelport apply`; schedule it with cron or CI',
  },
  requiredExtensions: [],
};
