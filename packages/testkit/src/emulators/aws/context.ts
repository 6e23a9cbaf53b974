import type { IncomingMessage } from 'node:http';

export const ACCOUNT_ID = '123456789012';

/** One call as a service handler sees it. */
export interface CallContext {
  service: string;
  operation: string;
  region: string;
  requestId: string;
  req: IncomingMessage;
  /** URI labels of REST operations (`Bucket`, `Key`, `EndpointName`, ...). */
  labels: Record<string, string>;
  query: URLSearchParams;
  /** The request body, read in full (absent for streamed S3 uploads, which the handler reads itself). */
  body: Buffer | undefined;
  /** Members of the input shape: the JSON body of awsJson calls, bound REST members otherwise. */
  input: Record<string, unknown>;
}

export function str(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key];
  return typeof value === 'string' ? value : undefined;
}

export function num(input: Record<string, unknown>, key: string): number | undefined {
  const value = input[key];
  return typeof value === 'number' ? value : undefined;
}

export function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Epoch seconds, as awsJson timestamps are sent. */
export function epochSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}
