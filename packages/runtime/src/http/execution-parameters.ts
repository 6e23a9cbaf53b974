import { availableParallelism } from 'node:os';

/** SageMaker's bound on MaxConcurrentTransforms × MaxPayloadInMB, and the most either may be. */
const TRANSFORM_BUDGET_MB = 100;
const MIB = 1024 * 1024;

/** The answer to `GET /execution-parameters`. */
export interface ExecutionParameters {
  MaxConcurrentTransforms: number;
  BatchStrategy: 'MULTI_RECORD' | 'SINGLE_RECORD';
  MaxPayloadInMB: number;
}

/**
 * What this server asks of a SageMaker Batch Transform job that does not set its own values. SageMaker
 * calls `GET /execution-parameters` before the first `/invocations` and expects a JSON object with
 * MaxConcurrentTransforms (1-100), BatchStrategy (SINGLE_RECORD | MULTI_RECORD) and MaxPayloadInMB
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html#your-algorithms-batch-code-how-containe-serves-requests).
 * MaxPayloadInMB is the server's own body limit in whole MB (at least 1: 0 would mean "unbounded, chunked"),
 * at most 100; MaxConcurrentTransforms × MaxPayloadInMB stays within 100 MB
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html). Many records per
 * call suit the server: rows of one call share one model run.
 */
export function executionParameters(
  maxPayloadBytes: number,
  concurrency = availableParallelism(),
): ExecutionParameters {
  const payloadMB = Math.min(TRANSFORM_BUDGET_MB, Math.max(1, Math.floor(maxPayloadBytes / MIB)));
  const most = Math.floor(TRANSFORM_BUDGET_MB / payloadMB);
  return {
    MaxConcurrentTransforms: Math.min(most, Math.max(1, Math.floor(concurrency))),
    BatchStrategy: 'MULTI_RECORD',
    MaxPayloadInMB: payloadMB,
  };
}
