export * from './parity.js';
export * from './stats.js';
export * from './values.js';
