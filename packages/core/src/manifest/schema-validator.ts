import type { ErrorObject } from 'ajv';
import type { PathSegment } from './diagnostics.js';
import { manifestSchema } from './manifest.generated.js';
import { validate as generatedValidate } from './validate-manifest.generated.js';

/** A schema violation before it is placed in a file. */
export interface SchemaIssue {
  code: string;
  path: PathSegment[];
  /** Point at the key rather than the value (unknown fields). */
  atKey: boolean;
  message: string;
  hint?: string;
}

interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

// Compiled by ajv at build time (scripts/gen-manifest-types.mjs): compiling at start-up costs ~200 ms.
const validate = generatedValidate as CompiledValidator;

export function validateAgainstSchema(value: unknown): SchemaIssue[] {
  if (validate(value)) return [];
  return dedupe((validate.errors ?? []).flatMap((e) => toIssues(e, value)));
}

function toIssues(error: ErrorObject, root: unknown): SchemaIssue[] {
  const path = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const actual = valueAt(root, path);
  const field = path.length === 0 ? 'the document' : `"${String(path[path.length - 1])}"`;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params['missingProperty']);
      return [
        {
          code: 'schema.required',
          path,
          atKey: false,
          message: `missing required field "${missing}"`,
          hint: `add ${[...path, missing].join('.')}${requiredHint(missing)}`,
        },
      ];
    }
    case 'additionalProperties': {
      const extra = String(params['additionalProperty']);
      const allowed = allowedKeys(root, path);
      const guess = closest(extra, allowed);
      return [
        {
          code: 'schema.unknownField',
          path: [...path, extra],
          atKey: true,
          message: `unknown field "${extra}"`,
          hint:
            guess !== undefined
              ? `did you mean "${guess}"? (allowed here: ${allowed.join(', ')})`
              : `remove it; allowed here: ${allowed.join(', ')}` +
                (path[path.length - 1] === 'spec'
                  ? '; provider-only settings go under spec.extensions.<provider>'
                  : ''),
        },
      ];
    }
    case 'type':
      return [
        {
          code: 'schema.type',
          path,
          atKey: false,
          message: `${field} must be ${article(String(params['type']))}, got ${describe(actual)}`,
        },
      ];
    case 'enum':
      return [
        {
          code: 'schema.enum',
          path,
          atKey: false,
          message: `${JSON.stringify(actual)} is not allowed for ${field}`,
          hint: `use one of: ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        },
      ];
    case 'const':
      return [
        {
          code: 'schema.const',
          path,
          atKey: false,
          message: `${field} must be ${JSON.stringify(params['allowedValue'])}, got ${describe(actual)}`,
        },
      ];
    case 'pattern':
      return [
        {
          code: 'schema.pattern',
          path,
          atKey: false,
          message: `${JSON.stringify(actual)} is not a valid value for ${field}`,
          hint: describeSchema(root, path) ?? `it must match ${String(params['pattern'])}`,
        },
      ];
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const op = { minimum: '≥', maximum: '≤', exclusiveMinimum: '>', exclusiveMaximum: '<' }[error.keyword];
      return [
        {
          code: 'schema.range',
          path,
          atKey: false,
          message: `${field} must be ${op} ${String(params['limit'])}, got ${describe(actual)}`,
        },
      ];
    }
    case 'minLength': {
      // A one-character minimum means "not empty"; a longer one is a real length rule (S3 bucket names).
      const limit = Number(params['limit']);
      const message =
        limit <= 1
          ? `${field} must not be empty`
          : `${field} must be at least ${limit} characters, got ${describe(actual)}`;
      return [{ code: limit <= 1 ? 'schema.empty' : 'schema.tooShort', path, atKey: false, message }];
    }
    case 'maxLength':
      return [
        {
          code: 'schema.tooLong',
          path,
          atKey: false,
          message: `${field} is longer than ${String(params['limit'])} characters`,
        },
      ];
    case 'minItems':
      return [
        {
          code: 'schema.minItems',
          path,
          atKey: false,
          message: `${field} needs at least ${String(params['limit'])} item(s)`,
        },
      ];
    case 'uniqueItems':
      return [
        {
          code: 'schema.duplicate',
          path: [...path, Number(params['j'])],
          atKey: false,
          message: `${field} lists the same value twice (items ${String(params['j'])} and ${String(params['i'])})`,
        },
      ];
    case 'propertyNames':
      return [
        {
          code: 'schema.propertyName',
          path: [...path, String(params['propertyName'])],
          atKey: true,
          message: `"${String(params['propertyName'])}" is not a valid key here`,
          hint: 'keys are letters, digits, "-", "_", "." and "/", starting and ending with a letter or digit',
        },
      ];
    case 'discriminator': {
      const kinds = ['Endpoint', 'BatchJob', 'EdgePackage'];
      const kind = valueAt(root, [...path, 'kind']);
      if (kind === undefined) return []; // reported as a missing required field
      const guess = typeof kind === 'string' ? closest(kind, kinds) : undefined;
      return [
        {
          code: 'schema.kind',
          path: [...path, 'kind'],
          atKey: false,
          message:
            typeof kind === 'string'
              ? `unknown kind "${kind}"`
              : `kind must be a string, got ${describe(kind)}`,
          hint: `${guess === undefined ? '' : `did you mean "${guess}"? `}kind is one of: ${kinds.join(', ')}`,
        },
      ];
    }
    case 'oneOf':
    case 'if':
      return []; // Reported through the branch's own errors.
    default:
      return [
        {
          code: `schema.${error.keyword}`,
          path,
          atKey: false,
          message: `${field} ${error.message ?? 'is invalid'}`,
        },
      ];
  }
}

function requiredHint(field: string): string {
  switch (field) {
    case 'apiVersion':
      return ': modelport.dev/v1alpha1';
    case 'kind':
      return ': Endpoint, BatchJob or EdgePackage';
    case 'model':
      return ' with at least format (e.g. onnx) and uri';
    case 'provider':
      return ' (local, aws, azure, gcp, kserve or a plugin id)';
    default:
      return '';
  }
}

type SchemaNode = Record<string, unknown>;

const KIND_DEFINITIONS: Record<string, string> = {
  Endpoint: 'EndpointManifest',
  BatchJob: 'BatchJobManifest',
  EdgePackage: 'EdgePackageManifest',
};

/**
 * The subschema that describes the value at `path`, found by walking the instance path through the
 * schema (ajv's own schemaPath restarts at every $ref, so it cannot be resolved from the root).
 */
function schemaAt(root: unknown, path: readonly PathSegment[]): SchemaNode | undefined {
  const definitions = manifestSchema.$defs as Record<string, SchemaNode>;
  const deref = (node: SchemaNode | undefined): SchemaNode | undefined => {
    const ref = node?.['$ref'];
    return typeof ref === 'string' ? definitions[ref.replace('#/$defs/', '')] : node;
  };
  const kind = (root as { kind?: unknown } | null)?.kind;
  let node = deref(typeof kind === 'string' ? definitions[KIND_DEFINITIONS[kind] ?? ''] : undefined);
  for (const segment of path) {
    if (node === undefined) return undefined;
    const properties = node['properties'] as Record<string, SchemaNode> | undefined;
    const items = node['items'] as SchemaNode | undefined;
    const additional = node['additionalProperties'];
    if (typeof segment === 'string' && properties?.[segment] !== undefined) node = deref(properties[segment]);
    else if (typeof segment === 'number' && items !== undefined) node = deref(items);
    else if (typeof additional === 'object' && additional !== null) node = deref(additional as SchemaNode);
    else return undefined;
  }
  return node;
}

function allowedKeys(root: unknown, path: readonly PathSegment[]): string[] {
  const properties = schemaAt(root, path)?.['properties'];
  return properties !== null && typeof properties === 'object' ? Object.keys(properties) : [];
}

function describeSchema(root: unknown, path: readonly PathSegment[]): string | undefined {
  const description = schemaAt(root, path)?.['description'];
  return typeof description === 'string' ? description : undefined;
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
  };
  return type
    .split(',')
    .map((t) => names[t] ?? t)
    .join(' or ');
}

/** The allowed key closest to a misspelt one, when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

function dedupe(issues: SchemaIssue[]): SchemaIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.code}|${issue.path.join('.')}|${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
