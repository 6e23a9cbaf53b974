import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import AjvDraft04 from 'ajv-draft-04';

// The package's default export is the class (CommonJS): typed through its module namespace.
const Ajv = AjvDraft04 as unknown as typeof AjvDraft04.default;

/** One request body that broke the official ARM schema (the emulator answered 400 and kept it). */
export interface ArmViolation {
  method: string;
  path: string;
  resourceType: string;
  errors: string[];
}

const SPEC_FILE = 'Microsoft.MachineLearningServices.2022-10-01.json';

/**
 * Where the official ARM schemas are: `../shared/specs/azure` from the repository root (read at run time,
 * never copied into the project), or MODELPORT_AZURE_SPECS_DIR.
 */
export function azureSpecsDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const here = new URL('.', import.meta.url).pathname;
  const candidates = [
    env['MODELPORT_AZURE_SPECS_DIR'],
    // packages/testkit/{src,dist}/emulators/azure → repository root → ../shared/specs/azure
    join(here, '../../../../../../shared/specs/azure'),
    join(process.cwd(), '../shared/specs/azure'),
  ];
  return candidates.find((dir): dir is string => dir !== undefined && existsSync(join(dir, SPEC_FILE)));
}

/**
 * Validates PUT bodies of Microsoft.MachineLearningServices resources against the ARM deployment schema of
 * the SDK's api-version (2022-10-01, draft-04), as a template resource: `{name, type, apiVersion, ...body}`.
 */
export class ArmValidator {
  private readonly ajv: InstanceType<typeof Ajv>;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly specId: string;

  constructor(dir: string) {
    this.ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
    const common = JSON.parse(readFileSync(join(dir, 'common-definitions.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const spec = JSON.parse(readFileSync(join(dir, SPEC_FILE), 'utf8')) as Record<string, unknown>;
    relaxDiscriminators(spec);
    this.ajv.addSchema(stripSchemaKeyword(common));
    this.ajv.addSchema(stripSchemaKeyword(spec));
    this.specId = String(spec['id']).replace(/#$/, '');
  }

  /** Errors (empty when valid) for a PUT of `resourceType`, e.g. `workspaces_onlineEndpoints_deployments`. */
  validate(resourceType: string, name: string, armType: string, body: unknown): string[] {
    const fn =
      this.compiled.get(resourceType) ??
      this.ajv.compile({ $ref: `${this.specId}#/resourceDefinitions/${resourceType}` });
    this.compiled.set(resourceType, fn);
    const resource = { ...(body as Record<string, unknown>), name, type: armType, apiVersion: '2022-10-01' };
    if (fn(resource)) return [];
    return (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  }
}

/**
 * Discriminated unions are generated as `allOf: [{additionalProperties: false, ...base}, {oneOf: [...]}]`,
 * which rejects every subtype's own properties: that one `additionalProperties: false` is dropped on load.
 */
function relaxDiscriminators(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) relaxDiscriminators(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  const allOf = record['allOf'];
  if (Array.isArray(allOf) && allOf.some((s) => typeof s === 'object' && s !== null && 'oneOf' in s)) {
    for (const part of allOf) {
      if (
        typeof part === 'object' &&
        part !== null &&
        (part as Record<string, unknown>)['additionalProperties'] === false
      ) {
        delete (part as Record<string, unknown>)['additionalProperties'];
      }
    }
  }
  for (const value of Object.values(record)) relaxDiscriminators(value);
}

function stripSchemaKeyword(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}
