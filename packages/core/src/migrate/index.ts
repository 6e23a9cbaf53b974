export { equivalentRegion } from './regions.js';
export { acceleratorsOf, describeInstance, pickForCompute, smallestSatisfying } from './instances.js';
export type { ComputeRequest } from './instances.js';
export * from './report.js';
export { findTodos, isTodo, TODO_PREFIX, todoValue } from './todo.js';
export { translateManifest } from './translate.js';
export type { MigrateOptions, MigrationResult } from './translate.js';
