import type { ModelSignature } from '@modelport/core';

/**
 * What the local provider records for an endpoint, compared field by field by the planner.
 * `mode` and `port` cannot change in place (a new process is needed); the rest rolls out blue/green.
 */
export interface EndpointProperties {
  mode: 'realtime' | 'serverless' | 'async';
  model: { path: string; sha256: string };
  signature?: ModelSignature;
  limits: { payloadMB: number; timeoutSeconds: number };
  /** Fixed port from extensions.local.port, or null for a free one chosen at start. */
  port: number | null;
  async?: AsyncProperties;
}

export interface AsyncProperties {
  maxPayloadMB: number;
  timeoutSeconds: number;
  queueTtlSeconds: number | null;
  maxRetries: number;
  workers: number;
  /** Folder results are written to. */
  outputDir: string;
}

export const IMMUTABLE_ENDPOINT_FIELDS = ['mode', 'port'] as const;
