/** How close two scores must be: |a − b| ≤ absolute + relative × |b|. Integers, strings and booleans compare exactly. */
export interface Tolerance {
  absolute: number;
  relative: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { absolute: 1e-5, relative: 1e-4 };

export type ValueDifference = { path: string; a: unknown; b: unknown; reason: string };

/**
 * The first difference between two decoded answers, or undefined when they agree. Labels (integers,
 * strings, booleans) must be equal; scores (non-integer numbers) within the tolerance, since two
 * runtimes may round the last bits differently.
 */
export function firstDifference(
  a: unknown,
  b: unknown,
  tolerance: Tolerance,
  path = '$',
): ValueDifference | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isInteger(a) && Number.isInteger(b)) {
      return a === b ? undefined : { path, a, b, reason: 'labels differ' };
    }
    const allowed = tolerance.absolute + tolerance.relative * Math.abs(b);
    return Math.abs(a - b) <= allowed
      ? undefined
      : {
          path,
          a,
          b,
          reason: `scores differ by ${Math.abs(a - b).toPrecision(3)} (allowed ${allowed.toPrecision(3)})`,
        };
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b))
      return { path, a, b, reason: 'one is a list, the other is not' };
    if (a.length !== b.length)
      return { path, a: a.length, b: b.length, reason: 'lists of different lengths' };
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], tolerance, `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) {
      if (!(key in a) || !(key in b))
        return { path: `${path}.${key}`, a: a[key], b: b[key], reason: 'field missing on one side' };
      const d = firstDifference(a[key], b[key], tolerance, `${path}.${key}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : { path, a, b, reason: 'values differ' };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
