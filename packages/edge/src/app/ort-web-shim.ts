// Stands in for onnxruntime-node in wasm bundles (the bundler aliases it here): the same API from
// onnxruntime-web, for devices where the native addon cannot run. One thread: Node has no
// SharedArrayBuffer-backed worker pool to give the WASM backend without extra flags, and edge boxes are small.
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;

export * from 'onnxruntime-web';
