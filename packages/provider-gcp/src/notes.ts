import type { LoadedManifest, PathSegment } from '@modelport/core';
import { formatPath } from '@modelport/core';

/**
 * A plan warning for a manifest field Vertex AI cannot honour (never silently ignored), located in the
 * file; added once however often the manifest is planned.
 */
export function warnIgnored(
  manifest: LoadedManifest,
  path: PathSegment[],
  message: string,
  hint: string,
): void {
  const code = 'gcp.ignoredField';
  const dotted = formatPath(path);
  if (manifest.warnings.some((w) => w.code === code && w.path === dotted)) return;
  const { line, column } = manifest.document.locate(path);
  manifest.warnings.push({
    severity: 'warning',
    code,
    file: manifest.file,
    path: dotted,
    line,
    column,
    message,
    hint,
  });
}

/** Warns for each set field of `fields` under `parent` (an object of the manifest at `path`). */
export function warnIgnoredFields(
  manifest: LoadedManifest,
  path: PathSegment[],
  parent: object | undefined,
  fields: Record<string, string>,
): void {
  for (const [field, why] of Object.entries(fields)) {
    if ((parent as Record<string, unknown> | undefined)?.[field] === undefined) continue;
    warnIgnored(
      manifest,
      [...path, field],
      `Vertex AI ${why}: spec.${[...path.slice(1), field].join('.')} is not applied`,
      'remove it, or choose a provider that has it',
    );
  }
}
