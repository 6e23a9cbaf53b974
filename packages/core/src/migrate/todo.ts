/**
 * What `modelport migrate` writes where only the user can answer (a GCP project, an IAM role): a string
 * value no provider accepts, which validation reports at its line before anything else.
 */
export const TODO_PREFIX = 'TODO(modelport migrate)';

export function todoValue(what: string): string {
  return `${TODO_PREFIX}: ${what}`;
}

export function isTodo(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(TODO_PREFIX);
}

/** Every path of `value` holding a TODO left by `modelport migrate`, with what to fill in. */
export function findTodos(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; what: string }[] {
  if (isTodo(value)) return [{ path, what: value.slice(TODO_PREFIX.length).replace(/^:\s*/, '') }];
  if (Array.isArray(value)) return value.flatMap((v, i) => findTodos(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => findTodos(v, [...path, k]));
  }
  return [];
}
