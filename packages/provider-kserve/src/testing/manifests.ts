// Test support (not part of the package build): the kserve iris example, loaded and edited in memory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedManifest } from '@modelport/core';
import { loadManifestText } from '@modelport/core';
import { capabilities } from '../capabilities.js';

export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const ROOT = join(PACKAGE_DIR, '../..');
export const IRIS_EXAMPLE = join(ROOT, 'examples/kserve/iris.yaml');
export const CRD_FILE = join(ROOT, '../shared/specs/kserve/serving.kserve.io_inferenceservices.yaml');
/** The CRD comes from the shared specs folder beside the repository; a user's clone has none. */
export const HAVE_CRD = existsSync(CRD_FILE);

/** The iris example text with edits applied (each must match). */
export function irisText(edits: readonly [string | RegExp, string][] = []): string {
  let text = readFileSync(IRIS_EXAMPLE, 'utf8');
  for (const [from, to] of edits) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text)) {
      throw new Error(`examples/kserve/iris.yaml: no match for ${String(from)}`);
    }
    text = text.replace(from, to);
  }
  return text;
}

/** Loads a manifest text with the KServe capabilities, failing on any error diagnostic. */
export function loadKserve(text: string): LoadedManifest {
  const result = loadManifestText(
    text,
    { file: IRIS_EXAMPLE, baseDir: join(ROOT, 'examples/kserve') },
    { installedProviders: ['kserve'], capabilitiesOf: (id) => (id === 'kserve' ? capabilities : undefined) },
  );
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || result.manifests[0] === undefined) {
    throw new Error(errors.map((d) => `${d.path}: ${d.message}`).join('\n'));
  }
  return result.manifests[0];
}
