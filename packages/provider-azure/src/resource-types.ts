/** Resource types of the Azure provider, as they appear in plans. */
export const RT = {
  model: 'azureml:ModelVersion',
  environment: 'azureml:EnvironmentVersion',
  onlineEndpoint: 'azureml:OnlineEndpoint',
  onlineDeployment: 'azureml:OnlineDeployment',
  traffic: 'azureml:Traffic',
  autoscale: 'insights:AutoscaleSetting',
  batchEndpoint: 'azureml:BatchEndpoint',
  batchDeployment: 'azureml:BatchDeployment',
  batchJob: 'azureml:BatchJob',
} as const;
