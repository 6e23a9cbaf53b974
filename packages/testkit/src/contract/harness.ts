// What every provider's test harness builds the same way: a Modelport whose provider is loaded the way the
// CLI loads it (package declaration → module) with test bindings in its container, example manifests
// copied with edits, and the ContractHarness the provider contract suite runs against.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { EngineOptions, EventListener, Modelport, ProviderDeclaration } from '@modelport/core';
import { LazyProviderRegistry, Modelport as ModelportClass, readDeclaration } from '@modelport/core';
import { ContainerModuleHost } from '@modelport/core/di';
import { afterAll } from 'vitest';
import type { ContractHarness } from './provider-contract.js';
import { providerContractSuite } from './provider-contract.js';

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

/** What a provider's contract spec gives {@link providerContractSuiteWith}. */
export interface ContractSpec<H extends { stop(): Promise<void> }> {
  /** Provider id, for test names. */
  provider: string;
  /** Per-test timeout. */
  timeoutMs?: number;
  /** Starts the provider's test harness (its emulator); stopped after the file. */
  start(): Promise<H>;
  /** The ContractHarness options of a started harness. */
  contract(harness: H): ContractHarnessOptions;
  /** Checks after the suite (nothing left in the emulator); `harness` is undefined if it did not start. */
  teardown?(harness: H | undefined): Promise<void> | void;
}

/**
 * The provider contract suite against a provider's test harness: started in the suite's first test,
 * stopped after the file, its ContractHarness built with {@link contractHarness}.
 */
export function providerContractSuiteWith<H extends { stop(): Promise<void> }>(spec: ContractSpec<H>): void {
  let harness: H | undefined;
  afterAll(async () => {
    await harness?.stop();
  });
  providerContractSuite({
    provider: spec.provider,
    ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
    setup: async () => {
      harness = await spec.start();
      return contractHarness(spec.contract(harness));
    },
    teardown: async () => {
      await spec.teardown?.(harness);
    },
  });
}

/** The test harness of a cloud provider: its emulator, a temp folder, and the provider wired to both. */
export interface CloudHarness<E, F, O> {
  emulator: E;
  dir: string;
  factory: F;
  options: O;
  modelport(extra?: ModelportExtra): Modelport;
  /** Copies an example manifest into the temp folder with edits (each must match); paths made absolute. */
  manifest(example: string, file: string, edits?: readonly [string | RegExp, string][]): Promise<string>;
  /** Stops everything, then fails if any request of the whole file broke the cloud's API definitions. */
  stop(): Promise<void>;
}

export interface CloudHarnessOptions<E, F, O> {
  /** The provider's id: names the temp folder. */
  provider: string;
  /** Its examples (examples/<provider>). */
  examplesDir: string;
  /** The emulator, started. */
  emulator: E;
  factory: F;
  options: O;
  /** A Modelport wired with `factory` and `options` (see {@link providerModelport}). */
  modelport(extra: ModelportExtra): Modelport;
  /** Closes what must close before the emulator stops (clients). */
  beforeStop?(): Promise<void>;
  /** Stops what must stop after the emulator (its storage). */
  afterStop?(): Promise<void>;
}

/** Makes the temp folder and wires the provider of a {@link CloudHarness}. */
export async function cloudHarness<E extends { stop(): Promise<void>; assertNoViolations(): void }, F, O>(
  spec: CloudHarnessOptions<E, F, O>,
): Promise<CloudHarness<E, F, O>> {
  const { emulator } = spec;
  const dir = await mkdtemp(join(tmpdir(), `modelport-${spec.provider}-test-`));
  return {
    emulator,
    dir,
    factory: spec.factory,
    options: spec.options,
    modelport: (extra = {}) => spec.modelport(extra),
    manifest: (example, file, edits = []) => copyExample(spec.examplesDir, dir, example, file, edits),
    async stop() {
      await spec.beforeStop?.();
      await emulator.stop();
      await spec.afterStop?.();
      await rm(dir, { recursive: true, force: true });
      emulator.assertNoViolations();
    },
  };
}
