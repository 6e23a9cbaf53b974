import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

export type YamlCst = typeof Yaml;

/**
 * Loads the `yaml` package (a full YAML 1.2 parser with source positions) synchronously and only when
 * needed: it costs ~100 ms to load, which `modelport validate` of a valid manifest should not pay.
 */
export function loadYamlCst(): YamlCst {
  return createRequire(import.meta.url)('yaml') as YamlCst;
}
