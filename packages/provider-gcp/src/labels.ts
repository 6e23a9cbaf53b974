import { isManagedFor, MANAGED_BY, managedTags, ModelportError, TAGS } from '@modelport/core';

// GCP labels allow only [a-z0-9_-] (keys start with a lower-case letter), at most 63 characters each and
// 64 labels per resource. modelport's tags (`modelport.dev/managed-by`) and users' labels are mapped
// reversibly: every byte outside [a-z0-9-] of the UTF-8 text becomes `_` + two hex digits (`_` itself is
// `_5f`), so `modelport.dev/name` is `modelport_2edev_2fname` and `Endpoint` is `_45ndpoint`.

const PLAIN = /^[a-z0-9-]$/;

export function encodeLabel(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += PLAIN.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function decodeLabel(label: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    const c = label[i] as string;
    if (c === '_' && /^[0-9a-f]{2}$/.test(label.slice(i + 1, i + 3))) {
      bytes.push(parseInt(label.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Encodes a map of labels, refusing what GCP would refuse once encoded (length, first character, count). */
export function encodeLabels(labels: Record<string, string>, origin = 'labels'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    const k = encodeLabel(key);
    const v = encodeLabel(value);
    if (!/^[a-z]/.test(k) || k.length > 63) {
      throw new ModelportError(
        'invalidInput',
        `the label key "${key}" cannot be a GCP label (encoded "${k}")`,
        {
          hint: `${origin}: GCP label keys start with a lower-case letter and are at most 63 characters once characters outside [a-z0-9-] are escaped (3 characters each)`,
        },
      );
    }
    if (v.length > 63) {
      throw new ModelportError(
        'invalidInput',
        `the value of label "${key}" is too long for GCP once encoded (${v.length} > 63)`,
        {
          hint: `${origin}: shorten it; characters outside [a-z0-9-] take 3 characters each`,
        },
      );
    }
    out[k] = v;
  }
  if (Object.keys(out).length > 64) {
    throw new ModelportError('invalidInput', 'GCP resources take at most 64 labels', {
      hint: `${origin}: remove some labels`,
    });
  }
  return out;
}

export function decodeLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[decodeLabel(k)] = decodeLabel(v);
  return out;
}

/** modelport's own labels of a deployment (decoded form). */
export const ownTags = managedTags;

/** True when (decoded) labels say modelport manages the resource for this deployment (same name and kind). */
export const isOurs = isManagedFor;

/** A List filter selecting a deployment's resources by their labels (the API filters server side). */
export function labelFilter(settings?: { name: string; kind: string }): string {
  const wanted: Record<string, string> = { [TAGS.managedBy]: MANAGED_BY };
  if (settings !== undefined) {
    wanted[TAGS.name] = settings.name;
    wanted[TAGS.kind] = settings.kind;
  }
  return Object.entries(wanted)
    .map(([k, v]) => `labels.${encodeLabel(k)}="${encodeLabel(v)}"`)
    .join(' AND ');
}
