// Injection tokens of the GCP provider, in a leaf module (same names as their interfaces).
export const GcpClientFactory = Symbol.for('modelport/gcp/GcpClientFactory');
export const GcpProviderOptions = Symbol.for('modelport/gcp/GcpProviderOptions');
