export {
  VertexEmulator,
  RpcError,
  SHARED_PREDICT_LIMIT,
  DEDICATED_PREDICT_LIMIT,
  parseInstances,
} from './vertex-emulator.js';
export type { VertexEmulatorOptions, Obj as VertexObject } from './vertex-emulator.js';
export {
  VertexContainers,
  VERTEX_CONTAINER_RULES,
  ContainerError as VertexContainerError,
  expandVariables,
} from './model-containers.js';
export type {
  ContainerPlacement as VertexContainerPlacement,
  ModelContainerSource as VertexModelContainerSource,
  ServingContainer as VertexServingContainer,
  VertexContainerTiming,
} from './model-containers.js';
export { pinnedServingImage } from './pinned-image.js';
export { GcpFaults } from './faults.js';
export type { GcpCallHook, GcpCallInfo } from './faults.js';
export { GcsFake, crc32c } from './gcs-fake.js';
export type { GcsObject } from './gcs-fake.js';
export { vertexRoot, missingRequired, protoDirs } from './protos.js';
