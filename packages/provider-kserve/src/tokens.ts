// Injection tokens of the KServe provider, in a leaf module (same names as their interfaces).
export const KserveProviderOptions = Symbol.for('modelport/kserve/KserveProviderOptions');
