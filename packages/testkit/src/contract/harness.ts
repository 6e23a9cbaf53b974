// What every provider's test harness builds the same way: a Modelport whose provider is loaded the way the
// CLI loads it (package declaration → module) with test bindings in its container, example manifests
// copied with edits, and the ContractHarness the provider contract suite runs against.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { EngineOptions, EventListener, Modelport, ProviderDeclaration } from '@modelport/core';
import { LazyProviderRegistry, Modelport as ModelportClass, readDeclaration } from '@modelport/core';
import { ContainerModuleHost } from '@modelport/core/di';
import type { ContractHarness } from './provider-contract.js';

/** Engine options with fast retries, for tests against emulators. */
export const FAST_ENGINE: Omit<EngineOptions, 'onEvent' | 'signal'> = {
  retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 50 },
};

/** What a test may add to the Modelport of a harness. */
export interface ModelportExtra {
  onEvent?: EventListener;
  engine?: Omit<EngineOptions, 'onEvent' | 'signal'>;
  signal?: AbortSignal;
}

/**
 * A Modelport whose provider (the package in `packageDir`, loaded from its declaration as the CLI does)
 * finds `bindings` (token → value: its client factory, its options) in its container.
 */
export function providerModelport(
  packageDir: string,
  bindings: readonly (readonly [symbol, unknown])[],
  extra: ModelportExtra = {},
): Modelport {
  const declaration = readDeclaration(packageDir, 'builtin') as ProviderDeclaration;
  const host = new ContainerModuleHost();
  for (const [token, value] of bindings) host.container.bind(token).toConstantValue(value);
  return new ModelportClass({
    registry: new LazyProviderRegistry([declaration], host),
    engine: extra.engine ?? FAST_ENGINE,
    ...(extra.onEvent === undefined ? {} : { onEvent: extra.onEvent }),
    ...(extra.signal === undefined ? {} : { signal: extra.signal }),
  });
}

/**
 * Copies `example` from `examplesDir` (e.g. examples/aws) to `dir/file` with the iris paths made absolute,
 * plus edits: every edit must match (a changed example fails loudly instead of testing something else).
 */
export async function copyExample(
  examplesDir: string,
  dir: string,
  example: string,
  file: string,
  edits: readonly [string | RegExp, string][] = [],
): Promise<string> {
  const iris = join(examplesDir, '../iris');
  let text = (await readFile(join(examplesDir, example), 'utf8'))
    .replace('uri: ../iris/model.onnx', `uri: ${join(iris, 'model.onnx')}`)
    .replace('input: ../iris/batch-input', `input: ${join(iris, 'batch-input')}`);
  for (const [from, to] of edits) {
    if (typeof from === 'string' ? !text.includes(from) : !from.test(text)) {
      throw new Error(`examples/${basename(examplesDir)}/${example}: no match for ${String(from)}`);
    }
    text = text.replace(from, to);
  }
  const target = join(dir, file);
  await writeFile(target, text);
  return target;
}

/** The call counters of an emulator. */
export interface CallCounters {
  writeCalls(): number | Promise<number>;
  totalCalls(): number | Promise<number>;
}

export interface ContractHarnessOptions {
  modelport: Modelport;
  /** The emulator (or fake server) whose counters the suite reads. */
  counters: CallCounters;
  /** Writes `file`: the provider's example with the one field the suite changes set to `value`. */
  manifest(file: string, value: string): Promise<string>;
  /** The field's value in base.yaml, changed.yaml (a real spec change), invalid.yaml (fails the schema). */
  values: { base: string; changed: string; invalid: string };
}

/** The ContractHarness of a provider: its three manifests written, the emulator's counters. */
export async function contractHarness(options: ContractHarnessOptions): Promise<ContractHarness> {
  const { counters, manifest, values } = options;
  return {
    modelport: options.modelport,
    manifests: {
      base: await manifest('base.yaml', values.base),
      changed: await manifest('changed.yaml', values.changed),
      invalid: await manifest('invalid.yaml', values.invalid),
    },
    writeCalls: () => counters.writeCalls(),
    totalCalls: () => counters.totalCalls(),
  };
}
