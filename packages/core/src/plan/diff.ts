import { canonicalJson } from '../hash.js';
import type { FieldChange } from './model.js';

/**
 * Field-level differences, flattened to dotted paths so a plan reads like a diff. Only keys the observed
 * side reports are compared: a provider may be unable to read some fields back, and an unreadable field
 * is not drift.
 */
export function diffObserved(
  desired: Record<string, unknown>,
  observed: Record<string, unknown>,
  prefix = '',
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const key of Object.keys(observed).sort()) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const before = observed[key];
    const after = desired[key];
    if (isPlainObject(before) && isPlainObject(after)) {
      changes.push(...diffObserved(after, before, path));
    } else if (canonicalJson(before) !== canonicalJson(after)) {
      changes.push({ path, before, after });
    }
  }
  return changes;
}

/** Every field of a resource as an addition, for create actions. */
export function allFields(properties: Record<string, unknown>, prefix = ''): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const key of Object.keys(properties).sort()) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const value = properties[key];
    if (value === undefined) continue;
    if (isPlainObject(value)) changes.push(...allFields(value, path));
    else changes.push({ path, before: undefined, after: value });
  }
  return changes;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
