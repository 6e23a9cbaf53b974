// The on-device format of an edge bundle. This folder (src/app) is the code that runs ON the device,
// bundled into run.mjs and app/server.mjs: it may import Node built-ins and the runtime only, never
// @modelport/core (ajv, yaml) or anything else of the build machine.

export const BUNDLE_SCHEMA = 'modelport.dev/edge-bundle/v1';
/** Lists every file with its SHA-256; the signature covers its exact bytes. Not listed in itself. */
export const BUNDLE_MANIFEST = 'bundle.json';
/** `BundleSignature` JSON. Not listed in the manifest (it signs it). */
export const BUNDLE_SIGNATURE = 'bundle.sig';
/** The signer's public key (SPKI PEM), listed and so covered by the signature. */
export const BUNDLE_PUBLIC_KEY = 'bundle.pub';
/** Folder the bundle writes at run time (spool, results) unless --state-dir says otherwise. Not listed. */
export const STATE_DIR = 'var';

export interface BundleFile {
  path: string;
  sha256: string;
  size: number;
  /** Octal permission bits, '0644' or '0755'. */
  mode: string;
}

/** How `run` serves the bundled model (from the EdgePackage manifest). */
export interface ServeConfig {
  /** Path of the ONNX file inside the bundle. */
  model: string;
  /** Name the model is served under. */
  name: string;
  /** Declared inputs/outputs (spec.model.signature), if any. */
  signature?: unknown;
  maxPayloadMB?: number;
  timeoutSeconds?: number;
}

export interface BundleManifest {
  schema: typeof BUNDLE_SCHEMA;
  name: string;
  version: string;
  platform: string;
  /** native: onnxruntime-node; wasm: onnxruntime-web. */
  runtime: 'native' | 'wasm';
  versions: { node: string; onnxruntime: string; modelport: string };
  serve: ServeConfig;
  /** Every file of the bundle but bundle.json and bundle.sig, sorted by path bytes. */
  files: BundleFile[];
}

export interface BundleSignature {
  algorithm: 'ed25519';
  /** `sha256:` + hex SHA-256 of the signer's public key (SPKI DER). */
  keyId: string;
  /** base64 ed25519 signature of bundle.json's bytes. */
  signature: string;
}
