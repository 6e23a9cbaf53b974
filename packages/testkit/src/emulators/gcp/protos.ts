import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** The .proto files the npm packages ship: aiplatform's own, and google-gax's (longrunning, rpc, api). */
export function protoDirs(): string[] {
  const aiplatform = join(dirname(require.resolve('@google-cloud/aiplatform')), '../protos');
  const gax = join(dirname(require.resolve('google-gax')), '../protos');
  return [aiplatform, gax];
}

export const V1 = 'google.cloud.aiplatform.v1';

const FILES = [
  'google/cloud/aiplatform/v1/model_service.proto',
  'google/cloud/aiplatform/v1/endpoint_service.proto',
  'google/cloud/aiplatform/v1/prediction_service.proto',
  'google/cloud/aiplatform/v1/job_service.proto',
  'google/longrunning/operations.proto',
];

let cached: protobuf.Root | undefined;

/**
 * The services' protos parsed from the .proto sources (not protos.json: the JSON keeps one
 * `google.api.field_behavior` per field, and `REQUIRED` is often the one it drops).
 */
export function vertexRoot(): protobuf.Root {
  if (cached !== undefined) return cached;
  const dirs = protoDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const path = join(dir, target);
      if (existsSync(path)) return path;
    }
    return target;
  };
  root.loadSync(FILES, { keepCase: false });
  root.resolveAll();
  cached = root;
  return root;
}

/** Options that turn a decoded message into plain JSON-like objects (enums as names, int64 as strings). */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, oneofs: false };

function behaviors(field: protobuf.Field): string[] {
  const parsed = (field.parsedOptions ?? []) as Record<string, unknown>[];
  return parsed.flatMap((o) => {
    const value = o['(google.api.field_behavior)'];
    return value === undefined ? [] : [String(value)];
  });
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0 && !(value instanceof Uint8Array);
  return false;
}

/**
 * Fields marked `(google.api.field_behavior) = REQUIRED` that a request leaves empty, as dotted paths,
 * descending into the messages it sets (a required field of an unset message is not required).
 */
export function missingRequired(type: protobuf.Type, value: Record<string, unknown>, prefix = ''): string[] {
  const missing: string[] = [];
  for (const field of type.fieldsArray) {
    const path = prefix === '' ? field.name : `${prefix}.${field.name}`;
    const v = value[field.name];
    if (behaviors(field).includes('REQUIRED') && isEmpty(v)) {
      // A required scalar of proto3 that equals its default is absent on the wire: only messages,
      // strings, lists and maps can be told apart.
      if (field.resolvedType !== null || field.type === 'string' || field.repeated || field.map) {
        missing.push(path);
      }
      continue;
    }
    const nested = field.resolvedType;
    if (!(nested instanceof protobuf.Type) || nested.fullName.startsWith('.google.protobuf.')) continue;
    if (field.map) {
      for (const [k, item] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        missing.push(...missingRequired(nested, item as Record<string, unknown>, `${path}[${k}]`));
      }
    } else if (field.repeated) {
      ((v ?? []) as Record<string, unknown>[]).forEach((item, i) =>
        missing.push(...missingRequired(nested, item, `${path}[${i}]`)),
      );
    } else if (v !== undefined && v !== null) {
      missing.push(...missingRequired(nested, v as Record<string, unknown>, path));
    }
  }
  return missing;
}

/** google.protobuf.Value as a plain object → JSON. */
export function fromValue(value: unknown): unknown {
  const v = (value ?? {}) as Record<string, unknown>;
  if (v['structValue'] !== undefined) {
    const fields = ((v['structValue'] as { fields?: Record<string, unknown> }).fields ?? {}) as Record<
      string,
      unknown
    >;
    return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, fromValue(f)]));
  }
  if (v['listValue'] !== undefined) {
    return ((v['listValue'] as { values?: unknown[] }).values ?? []).map(fromValue);
  }
  if (v['numberValue'] !== undefined) return v['numberValue'];
  if (v['stringValue'] !== undefined) return v['stringValue'];
  if (v['boolValue'] !== undefined) return v['boolValue'];
  return null;
}

/** JSON → google.protobuf.Value as a plain object (for `fromObject`). */
export function toValue(json: unknown): Record<string, unknown> {
  if (json === null || json === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof json === 'number') return { numberValue: json };
  if (typeof json === 'string') return { stringValue: json };
  if (typeof json === 'boolean') return { boolValue: json };
  if (Array.isArray(json)) return { listValue: { values: json.map(toValue) } };
  return {
    structValue: {
      fields: Object.fromEntries(
        Object.entries(json as Record<string, unknown>).map(([k, f]) => [k, toValue(f)]),
      ),
    },
  };
}

/** A google.protobuf.Any holding `message` of `typeName` (fully qualified, no leading dot). */
export function packAny(root: protobuf.Root, typeName: string, message: Record<string, unknown>) {
  const type = root.lookupType(typeName);
  return {
    typeUrl: `type.googleapis.com/${typeName}`,
    value: type.encode(type.fromObject(message)).finish(),
  };
}
