// The two patch types a client sends for custom resources (strategic merge is not defined for CRDs).

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

interface Operation {
  op: string;
  path: string;
  value?: unknown;
}

/** RFC 6902 JSON patch: add, replace, remove and test (what clients send for custom resources). */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new Error('a JSON patch is an array of operations');
  const root: { doc: unknown } = { doc: structuredClone(target) };
  for (const operation of patch as Operation[]) {
    const segments = operation.path
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let parent: Record<string, unknown> = root as unknown as Record<string, unknown>;
    let key = 'doc';
    for (const segment of segments) {
      parent = parent[key] as Record<string, unknown>;
      key = segment;
    }
    if (operation.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (operation.op === 'add' && Array.isArray(parent)) {
      parent.splice(key === '-' ? parent.length : Number(key), 0, operation.value);
    } else if (operation.op === 'add' || operation.op === 'replace') {
      parent[key] = operation.value;
    } else if (operation.op === 'test') {
      if (JSON.stringify(parent[key]) !== JSON.stringify(operation.value))
        throw new Error(`test failed at ${operation.path}`);
    } else {
      throw new Error(`unsupported patch op ${operation.op}`);
    }
  }
  return root.doc;
}
