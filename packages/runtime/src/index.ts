export { OnnxModel, type LoadOptions, type ResolvedSignature, type ServedModel } from './onnx-model.js';
export type { Dtype, ModelSignature, TensorSpec } from './signature.js';
export { RequestError, ModelLoadError, type RequestErrorCode } from './errors.js';
export type { V2InferRequest, V2InferResponse, V2ModelMetadata, V2Tensor } from './v2-protocol.js';
export {
  startServer,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_STREAM_THRESHOLD_BYTES,
  type ModelState,
  type RunningServer,
  type ServerOptions,
  type VertexOptions,
} from './http/server.js';
export type { MetricsSnapshot } from './http/metrics.js';
export { executionParameters, type ExecutionParameters } from './http/execution-parameters.js';
export { JSON_LINES_TYPES } from './http/content-negotiation.js';
export { createJsonLogger, type Logger, type LogLevel, type JsonLoggerOptions } from './logger.js';
export {
  runBatchFiles,
  predictFile,
  DEFAULT_BATCH_SIZE,
  type BatchRunOptions,
  type BatchRunResult,
  type BatchFileResult,
  type PredictFileOptions,
} from './batch/run-batch-files.js';
export {
  BatchErrorThresholdError,
  type BatchModel,
  type BatchProgress,
  type InputFormat,
} from './batch/file-processor.js';
export { CHECKPOINT_FILE, type BatchCheckpoint, type FileCheckpoint } from './batch/checkpoint.js';
