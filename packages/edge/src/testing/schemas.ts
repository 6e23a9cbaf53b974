// The official schemas in ../shared/specs (data, not copied into the project): compiled with ajv for the
// conformance tests, which skip and say so when the folder is absent.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Ajv, type ValidateFunction } from 'ajv';

import { REPO_ROOT } from './fixtures.js';

export const SPECS_DIR = join(REPO_ROOT, '..', 'shared', 'specs');

export function specsPresent(...files: string[]): boolean {
  return files.every((f) => existsSync(join(SPECS_DIR, f)));
}

/** Draft-04 schemas (SchemaStore's IoT Edge ones) use `id` and a draft-04 $schema: ajv 8 reads them as draft-07 once those go. */
function asDraft07(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, id: _id, ...rest } = schema;
  return rest;
}

export function compileSpec(file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(SPECS_DIR, file), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(asDraft07(schema));
}

/** Greengrass recipe keys are case-insensitive: the schema is written in lower case (as upstream's tests do). */
export function lowerCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), lowerCaseKeys(v)]));
}

export function errorsOf(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors ?? [], null, 1);
}
