// Test support (not part of the package build): the InferenceService CRD's v1beta1 OpenAPI v3 schema as an
// ajv validator, compiled once per test process (the schema is ~2 MB; compiling takes a few seconds).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { CRD_FILE } from './manifests.js';

interface Crd {
  spec: { versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
}

// Not client-node's `loadYaml`: it turns `enum` into `_enum` (its model serializer), which would silently
// drop every enum from the schema. js-yaml is client-node's own dependency, so it is taken from there.
const jsYaml = createRequire(import.meta.resolve('@kubernetes/client-node'))('js-yaml') as {
  load(text: string): unknown;
};

let compiled: ValidateFunction | undefined;

export function crdValidator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const crd = jsYaml.load(readFileSync(CRD_FILE, 'utf8')) as Crd;
  const version = crd.spec.versions.find((v) => v.name === 'v1beta1');
  if (version === undefined) throw new Error('the CRD has no v1beta1');
  // strict: false — the schema carries Kubernetes vendor keywords (x-kubernetes-*); its formats (int32,
  // int64, date-time) are not checked by the API server for custom resources either.
  compiled = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
    version.schema.openAPIV3Schema,
  );
  return compiled;
}

/** Schema errors of an object as `path: message` lines (empty when valid), for the fake API server. */
export function crdErrors(object: unknown): string[] {
  const validate = crdValidator();
  if (validate(object)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}
