// The SDK's message types (types only: importing this module loads nothing).
import type { protos } from '@google-cloud/aiplatform';

type V1 = typeof protos.google.cloud.aiplatform.v1;
export type Model = protos.google.cloud.aiplatform.v1.IModel;
export type Endpoint = protos.google.cloud.aiplatform.v1.IEndpoint;
export type DeployedModel = protos.google.cloud.aiplatform.v1.IDeployedModel;
export type BatchPredictionJob = protos.google.cloud.aiplatform.v1.IBatchPredictionJob;
export type Value = protos.google.protobuf.IValue;
export type AcceleratorType = keyof V1['AcceleratorType'];
