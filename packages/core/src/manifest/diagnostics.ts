/** One problem found in a manifest, pointing at the exact place in the file. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Stable machine-readable code, e.g. `schema.unknownField`, `semantic.minAboveMax`. */
  code: string;
  file: string;
  /** Dotted manifest path (`spec.scaling.minReplicas`, `spec.model.signature.inputs[0].dtype`). */
  path: string;
  line: number;
  column: number;
  message: string;
  /** What to do about it. */
  hint?: string;
}

export type PathSegment = string | number;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(document)' : out;
}

/** `file:line:col path: message (hint)`: the compiler-style line editors and CI logs link to. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.column}`;
  const head = `${where} ${d.severity === 'warning' ? 'warning' : 'error'} ${d.path}: ${d.message}`;
  return d.hint === undefined ? head : `${head}\n  → ${d.hint}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
