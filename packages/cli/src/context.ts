import { createInterface } from 'node:readline/promises';
import type { EngineEvent, Modelport } from '@modelport/core';
import { createModelport } from './composition.js';
import { ProgressRenderer } from './output/progress.js';
import type { Style } from './output/style.js';
import { createStyle } from './output/style.js';

export interface GlobalOptions {
  output: 'text' | 'json' | 'yaml';
  verbose: boolean;
  plugin: string[];
  color: boolean;
}

/** What every command gets: output helpers that respect --output/NO_COLOR, and the API, built on demand. */
export interface CliContext {
  json: boolean;
  /** `--output yaml`: the rendered resources (plan of declarative targets). */
  yaml: boolean;
  verbose: boolean;
  style: Style;
  signal: AbortSignal;
  out(text: string): void;
  err(text: string): void;
  printJson(value: unknown): void;
  /** The API, with engine events rendered as progress (text mode) on stderr. */
  modelport(): Modelport;
  confirm(question: string): Promise<boolean>;
  close(): void;
}

export function createCliContext(globals: GlobalOptions, signal: AbortSignal): CliContext {
  const json = globals.output === 'json';
  const yaml = globals.output === 'yaml';
  // --no-color behaves exactly like NO_COLOR.
  const env = globals.color ? process.env : { ...process.env, NO_COLOR: '1' };
  const style = createStyle(process.stdout, env);
  const errStyle = createStyle(process.stderr, env);
  let progress: ProgressRenderer | undefined;
  let api: Modelport | undefined;
  return {
    json,
    yaml,
    verbose: globals.verbose,
    style,
    signal,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value, bigintSafe, 2)}\n`),
    modelport: () => {
      if (api === undefined) {
        progress =
          json || yaml
            ? undefined
            : new ProgressRenderer(process.stderr, errStyle, { verbose: globals.verbose });
        const onEvent = (event: EngineEvent): void => progress?.onEvent(event);
        api = createModelport({ plugins: globals.plugin, onEvent, signal });
      }
      return api;
    },
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    close: () => progress?.stop(),
  };
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}
