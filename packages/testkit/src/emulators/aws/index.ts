export { AwsEmulator } from './aws-emulator.js';
export type { AwsEmulatorOptions, CallCount } from './aws-emulator.js';
export { AwsError } from './aws-http.js';
export type { Reply } from './aws-http.js';
export { ACCOUNT_ID } from './context.js';
export type { CallContext } from './context.js';
export { Faults } from './faults.js';
export type { CallHook, CallInfo } from './faults.js';
export { RequestValidator } from './request-validator.js';
export type { SpecViolation } from './request-validator.js';
export { loadBotocoreService, specsDirFrom } from './botocore-model.js';
export type { S3Object } from './s3-service.js';
export type { SageMakerEndpoint, TransformJob } from './sagemaker-service.js';
export { referencePredictions } from './reference.js';
export type { BatchJob, JobDefinition } from './batch-service.js';
export type { Schedule } from './scheduler-service.js';
export type { Rule } from './events-service.js';
export { matches as eventPatternMatches } from './events-service.js';
export { extractTarGz } from './tar-reader.js';
export type { MetricAlarm } from './cloudwatch-service.js';
export {
  BIND_TO_PORT_LABEL,
  HOSTING_CONTRACT,
  MODEL_DIR as SAGEMAKER_MODEL_DIR,
  SAGEMAKER_MANIFEST_TYPES,
} from './sagemaker-containers.js';
export type { ModelSource as SageMakerModelSource, ServingContainer } from './sagemaker-containers.js';
export { BATCH_CONTRACT } from './transform-runner.js';
export { JOB_TIMEOUT_DOC, TASK_ROLE_DOC } from './batch-service.js';
export type { IssuedCredentials } from './batch-service.js';
export { DOCKER_MANIFEST_V2, pushedToEcr, servingImageRegistry } from './ecr-images.js';
export { AWS_BATCH_RULES, SAGEMAKER_HOSTING_RULES, SAGEMAKER_TRANSFORM_RULES } from './rules.js';
