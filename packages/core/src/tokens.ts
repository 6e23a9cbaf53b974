// Injection tokens, one per interface and with the same name (the interfaces live in ports/).
// Kept in a leaf module with no imports so any package can depend on them cheaply.
export const EndpointProvider = Symbol.for('modelport/EndpointProvider');
export const BatchProvider = Symbol.for('modelport/BatchProvider');
export const EdgePackager = Symbol.for('modelport/EdgePackager');
export const ArtifactStore = Symbol.for('modelport/ArtifactStore');
export const ProviderRegistry = Symbol.for('modelport/ProviderRegistry');
export const EventSink = Symbol.for('modelport/EventSink');
export const Clock = Symbol.for('modelport/Clock');
