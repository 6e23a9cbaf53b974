/** Resource types of the AWS provider, as plans show them. */
export const RT = {
  artifact: 's3:Object',
  model: 'sagemaker:Model',
  endpointConfig: 'sagemaker:EndpointConfig',
  endpoint: 'sagemaker:Endpoint',
  scalableTarget: 'autoscaling:ScalableTarget',
  scalingPolicy: 'autoscaling:ScalingPolicy',
  alarm: 'cloudwatch:Alarm',
  transformJob: 'sagemaker:TransformJob',
  batchInput: 's3:InputFolder',
  jobDefinition: 'batch:JobDefinition',
  batchJob: 'batch:Job',
  schedule: 'scheduler:Schedule',
  rule: 'events:Rule',
} as const;
