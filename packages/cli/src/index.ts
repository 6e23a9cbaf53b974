// The `modelport` package: the CLI's composition root and the typed programmatic API it is a shell over.
import type {
  ApplyOptions,
  InvokeRequest,
  ManifestInput,
  MigrateOptions,
  ParityOptions,
  Payload,
  SelectOptions,
} from '@modelport/core';
import type { CreateOptions } from './composition.js';
import { createModelport } from './composition.js';

export { createModelport, createRegistry, builtinDeclarations } from './composition.js';
export type { CreateOptions } from './composition.js';
export { main } from './main.js';
export { renderCapabilityDoc } from './output/capability-doc.js';
export { renderParityHtml } from './output/parity-html.js';
export * from '@modelport/core';

/** Plans and applies a manifest (no confirmation: the caller decided). */
export function deploy(input: ManifestInput, options: ApplyOptions & CreateOptions = {}) {
  return createModelport(options).apply(input, options);
}

export function plan(input: ManifestInput, options: SelectOptions & CreateOptions = {}) {
  return createModelport(options).plan(input, options);
}

export function invoke(
  input: ManifestInput,
  request: InvokeRequest,
  options: SelectOptions & CreateOptions = {},
) {
  return createModelport(options).invoke(input, request, options);
}

export function status(input: ManifestInput, options: SelectOptions & CreateOptions = {}) {
  return createModelport(options).status(input, options);
}

export function destroy(input: ManifestInput, options: ApplyOptions & CreateOptions = {}) {
  return createModelport(options).destroy(input, options);
}

export function validate(file: string, options: CreateOptions = {}) {
  return createModelport(options).validate(file);
}

/** Translates a manifest file to another provider (nothing deployed): the new text and a field-by-field report. */
export function migrate(
  file: string,
  options: Omit<MigrateOptions, 'capabilitiesOf' | 'installedProviders' | 'sourceFile'> & CreateOptions,
) {
  return createModelport(options).migrate(file, options);
}

/** Parity of two deployed endpoints over the same payloads (see `modelport compare`). */
export function compare(
  a: ManifestInput,
  b: ManifestInput,
  payloads: readonly Payload[],
  options: ParityOptions & CreateOptions = {},
) {
  return createModelport(options).compare(a, b, payloads, options);
}
