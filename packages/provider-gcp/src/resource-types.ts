/** Resource types of the GCP provider, as plans show them. */
export const RT = {
  artifact: 'gcs:ModelFolder',
  model: 'vertex:Model',
  endpoint: 'vertex:Endpoint',
  deployedModel: 'vertex:DeployedModel',
  traffic: 'vertex:TrafficSplit',
  batchInput: 'gcs:InputFolder',
  batchJob: 'vertex:BatchPredictionJob',
} as const;
