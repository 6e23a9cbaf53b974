import { Command, Option } from 'commander';
import { EXIT_CODES, ModelportError, toModelportError } from '@modelport/core';
import { registerApply } from './commands/apply.js';
import { registerCompare } from './commands/compare.js';
import { registerEdge } from './commands/edge.js';
import { registerInvoke } from './commands/invoke.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPackage } from './commands/package.js';
import { registerPlan } from './commands/plan.js';
import { registerProviders } from './commands/providers.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerValidate } from './commands/validate.js';
import type { CliContext, GlobalOptions } from './context.js';
import { createCliContext } from './context.js';
import { filterSdkWarnings } from './output/warnings.js';
import { VERSION } from './version.js';

/** Exit code of a command stopped by Ctrl-C (SIGINT): 128 + 2, as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Wraps a command body: builds its context, maps errors to exit codes. */
export type ActionWrapper = <A extends unknown[]>(
  fn: (ctx: CliContext, ...args: A) => Promise<number | void>,
) => (...args: unknown[]) => Promise<void>;

/** Runs the `modelport` command line; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('modelport')
    .description('Deploy a trained model anywhere from one provider-neutral manifest.')
    .version(VERSION, '-V, --version')
    .addOption(
      new Option('-o, --output <format>', 'output format (yaml: plan of a KServe target, for GitOps)')
        .choices(['text', 'json', 'yaml'])
        .default('text'),
    )
    .option('-v, --verbose', 'show debug logs', false)
    .option('--plugin <dir>', 'load a provider plugin from this package folder (repeatable)', collect, [])
    .option('--no-color', 'disable colours (NO_COLOR is honoured too)')
    .showHelpAfterError('(run `modelport --help` for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  let exitCode = 0;
  // The AWS SDK's Node-version notice is not for users' terminals (said once with -v).
  const warnings = filterSdkWarnings((line) => process.stderr.write(`${line}\n`));
  const controller = new AbortController();
  let interrupted = 0;
  const onSigint = (): void => {
    interrupted++;
    if (interrupted > 1) process.exit(EXIT_INTERRUPTED);
    process.stderr.write('\ninterrupted: stopping (press Ctrl-C again to quit at once)\n');
    controller.abort(new ModelportError('timeout', 'interrupted by the user', { retryable: false }));
  };
  process.on('SIGINT', onSigint);

  const action =
    <A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<number | void>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      warnings.verbose = globals.verbose;
      const ctx = createCliContext(globals, controller.signal);
      try {
        exitCode = (await fn(ctx, ...(args.slice(0, -1) as A))) ?? 0;
      } catch (thrown) {
        exitCode = reportError(ctx, thrown);
      } finally {
        ctx.close();
      }
      // Stopped by Ctrl-C: the shell's convention (128 + SIGINT), whatever error the stop caused. A command
      // that finished anyway (serve drains and exits 0) keeps its own code.
      if (interrupted > 0 && exitCode !== 0) {
        if (!ctx.json)
          ctx.err('interrupted: nothing more was started; run the same command again to carry on');
        exitCode = EXIT_INTERRUPTED;
      }
    };

  registerValidate(program, action);
  registerPlan(program, action);
  registerApply(program, action);
  registerStatus(program, action);
  registerInvoke(program, action);
  registerServe(program, action);
  registerMigrate(program, action);
  registerCompare(program, action);
  registerPackage(program, action);
  registerEdge(program, action);
  registerProviders(program, action);

  try {
    await program.parseAsync(migrateOutFlag(argv), { from: 'user' });
  } catch (thrown) {
    // commander has printed its own message (usage error) or the help/version text.
    const commanderExit = (thrown as { exitCode?: number }).exitCode;
    if (commanderExit === undefined) throw thrown;
    return commanderExit === 0 ? 0 : EXIT_CODES.invalidInput;
  } finally {
    process.off('SIGINT', onSigint);
    warnings.restore();
  }
  return exitCode;
}

/**
 * `modelport migrate a.yaml --to gcp -o b.yaml`: after `migrate`, `-o` names the output file (as users of
 * converters expect); the output format stays `--output`. Elsewhere `-o` is `--output`.
 */
export function migrateOutFlag(argv: readonly string[]): string[] {
  const withValue = new Set(['-o', '--output', '--plugin']);
  let i = 0;
  while (i < argv.length && (argv[i] ?? '').startsWith('-')) i += withValue.has(argv[i] ?? '') ? 2 : 1;
  if (argv[i] !== 'migrate') return [...argv];
  return argv.map((token, j) => {
    if (j <= i) return token;
    if (token === '-o') return '--out';
    if (token.startsWith('-o=')) return `--out=${token.slice(3)}`;
    // `-ofile`: commander's attached short value.
    return token.startsWith('-o') && !token.startsWith('--') ? `--out=${token.slice(2)}` : token;
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Prints an error (JSON under --output json) and returns the exit code for its kind. */
export function reportError(ctx: CliContext, thrown: unknown): number {
  const error = toModelportError(thrown);
  if (ctx.json) {
    ctx.printJson({ ok: false, error: error.toJSON() });
  } else {
    ctx.err(ctx.style.red(`error: ${error.message}`));
    if (error.hint !== undefined) ctx.err(`  → ${error.hint}`);
    if (
      error.kind === 'internal' &&
      error.cause instanceof Error &&
      error.cause.stack !== undefined &&
      ctx.verbose
    ) {
      ctx.err(ctx.style.dim(error.cause.stack));
    }
  }
  return EXIT_CODES[error.kind];
}
