// Injection tokens of the Azure provider, in a leaf module (same names as their interfaces).
export const AzureClientFactory = Symbol.for('modelport/azure/AzureClientFactory');
export const AzureProviderOptions = Symbol.for('modelport/azure/AzureProviderOptions');
