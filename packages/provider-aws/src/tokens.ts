// Injection tokens of the AWS provider, in a leaf module (same names as their interfaces).
export const AwsClientFactory = Symbol.for('modelport/aws/AwsClientFactory');
export const AwsProviderOptions = Symbol.for('modelport/aws/AwsProviderOptions');
