import { extname } from 'node:path';
import type { Command } from 'commander';
import type { MigrationReport, ParityResult } from '@modelport/core';
import { EXIT_CODES, ModelportError, strictFailures } from '@modelport/core';
import type { CliContext } from '../context.js';
import type { ActionWrapper } from '../main.js';
import { renderMigration } from '../output/render-migration.js';
import { approvePlans } from './approve-plans.js';
import { checkOutputTarget, writeOutputFile } from '../output/write-file.js';
import { compareAndReport, PARITY_FAILED, readPayloads, tolerance } from './compare.js';

interface MigrateFlags {
  to: string;
  region?: string;
  out?: string;
  set: string[];
  strict?: boolean;
  apply?: boolean;
  payloads?: string;
  onPass: 'keep-source' | 'destroy-source';
  onFail: 'keep-target' | 'remove-target';
  report?: string;
  tolerance: string;
  rtol: string;
  yes?: boolean;
  copied?: boolean;
}

export function registerMigrate(program: Command, action: ActionWrapper): void {
  program
    .command('migrate')
    .description(
      'translate a manifest to another provider, with a report of every field (and, with --apply, move)',
    )
    .argument('<manifest>', 'manifest file to translate')
    .requiredOption('--to <provider>', 'target provider (aws, azure, gcp, local, kserve, or a plugin id)')
    .option('--region <region>', 'target region (default: the same place as the source region)')
    .option(
      '-o, --out <file>',
      'write the translated manifest to this file (- or default: stdout; the format is --output)',
    )
    .option(
      '--set <path=value>',
      'set a field of every document, e.g. spec.extensions.gcp.project=p (repeatable)',
      collect,
      [],
    )
    .option('--strict', 'exit non-zero when any field is lossy or unsupported on the target')
    .option('--apply', 'deploy the target, check parity against the source, then act on the result')
    .option('-p, --payloads <file.jsonl>', 'with --apply: request bodies for the parity check')
    .option(
      '--on-pass <action>',
      'with --apply, when parity passes: keep-source or destroy-source',
      'keep-source',
    )
    .option(
      '--on-fail <action>',
      'with --apply, when parity fails: remove-target or keep-target',
      'remove-target',
    )
    .option('--report <file.html>', 'with --apply: the parity report (default: beside --out)')
    .option('--tolerance <abs>', 'with --apply: absolute tolerance for scores', '0.00001')
    .option('--rtol <rel>', 'with --apply: relative tolerance for scores', '0.0001')
    .option('-y, --yes', 'with --apply: deploy and destroy without asking (for CI)')
    .option(
      '--copied',
      "with --apply: the report's copy steps are done (artifacts already in the target's store)",
    )
    .action(action(async (ctx, manifest: string, flags: MigrateFlags) => runMigrate(ctx, manifest, flags)));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The words `--output` takes: after migrate, `-o json` is almost always meant as the format. */
const FORMAT_WORDS = new Set(['json', 'yaml', 'text']);

/**
 * `migrate -o json` would write a file named `json`: refused, since everywhere else `-o json` is the
 * output format. A path that says it is one (`-o ./json`) is taken as given.
 */
function checkOutFlag(out: string | undefined): void {
  if (out === undefined || !FORMAT_WORDS.has(out)) return;
  throw new ModelportError(
    'invalidInput',
    `migrate -o ${out}: after migrate, -o (--out) is the output file, so this would write a file named "${out}"`,
    {
      hint: `for ${out === 'text' ? 'text' : out.toUpperCase()} output use --output ${out}; for a file named ${out}, write -o ./${out}`,
    },
  );
}

function parseSets(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of values) {
    const eq = raw.indexOf('=');
    if (eq <= 0) {
      throw new ModelportError('invalidInput', `--set ${raw}: expected <path>=<value>`, {
        hint: 'e.g. --set spec.extensions.gcp.project=my-project',
      });
    }
    out[raw.slice(0, eq).trim()] = raw.slice(eq + 1);
  }
  return out;
}

async function runMigrate(ctx: CliContext, manifest: string, flags: MigrateFlags): Promise<number> {
  if (!['keep-source', 'destroy-source'].includes(flags.onPass)) {
    throw new ModelportError(
      'invalidInput',
      `--on-pass ${flags.onPass}: expected keep-source or destroy-source`,
    );
  }
  if (!['keep-target', 'remove-target'].includes(flags.onFail)) {
    throw new ModelportError(
      'invalidInput',
      `--on-fail ${flags.onFail}: expected remove-target or keep-target`,
    );
  }
  checkOutFlag(flags.out);
  // `-o -`: the manifest goes to stdout, as without -o.
  const out = flags.out === '-' ? undefined : flags.out;
  if (flags.apply === true && (out === undefined || flags.payloads === undefined)) {
    throw new ModelportError('invalidInput', '--apply needs --out (the target manifest) and --payloads', {
      hint: 'e.g. modelport migrate app.yaml --to gcp -o app.gcp.yaml --apply --payloads payloads.jsonl',
    });
  }
  // A target that cannot be written is refused before anything is translated (or deployed).
  if (out !== undefined) await checkOutputTarget(out, { option: '-o' });
  const api = ctx.modelport();
  const { text, report } = await api.migrate(manifest, {
    to: flags.to,
    ...(flags.region === undefined ? {} : { region: flags.region }),
    ...(out === undefined ? {} : { outFile: out }),
    set: parseSets(flags.set),
  });
  const strict = flags.strict === true ? strictFailures(report) : [];
  if (out !== undefined) await writeOutputFile(out, text, { option: '-o' });

  if (flags.apply !== true) {
    if (ctx.json) {
      ctx.printJson({
        ok: strict.length === 0,
        ...(out === undefined ? { manifest: text } : { out }),
        report,
      });
    } else {
      if (out === undefined) ctx.out(text.trimEnd());
      ctx.err(renderMigration(report, manifest, ctx.style));
      if (out !== undefined) ctx.err(ctx.style.green(`wrote ${out}`));
      if (strict.length > 0)
        ctx.err(ctx.style.red(`--strict: ${strict.length} field(s) lossy or unsupported`));
    }
    return strict.length > 0 ? EXIT_CODES.capability : 0;
  }

  if (!ctx.json) ctx.err(renderMigration(report, manifest, ctx.style));
  if (strict.length > 0) {
    throw new ModelportError(
      'capability',
      `--strict: ${strict.length} field(s) lossy or unsupported; nothing deployed`,
      {
        hint: 'review the report; drop --strict to accept it',
      },
    );
  }
  if (report.todos.length > 0) {
    throw new ModelportError(
      'invalidInput',
      `${report.todos.length} value(s) to fill in before the target can be deployed; nothing deployed`,
      {
        hint: `fill in ${out} (or pass --set ${report.todos[0]?.path}=<value>)`,
      },
    );
  }
  if (report.copies.length > 0 && flags.copied !== true) {
    // modelport does not move data between clouds itself: the target would not find the artifacts.
    const steps = report.copies.map((c) => `${c.from} → ${c.to}`).join('; ');
    throw new ModelportError(
      'invalidInput',
      `copy the artifacts to ${report.to} first (${steps}); nothing deployed`,
      {
        hint: "copy them with the clouds' tools (aws s3 cp, gcloud storage cp, azcopy), then run again with --copied",
      },
    );
  }
  return applyMigration(ctx, manifest, out as string, flags, report);
}

/** Deploys the target, checks parity against the source, then keeps or destroys as asked. */
async function applyMigration(
  ctx: CliContext,
  source: string,
  target: string,
  flags: MigrateFlags,
  report: MigrationReport,
): Promise<number> {
  const api = ctx.modelport();
  const payloads = await readPayloads(flags.payloads as string);
  const approve = approvePlans(ctx, {
    yes: flags.yes,
    intent: 'deploy',
    command: 'migrate',
    question: `Deploy the migrated manifest to ${report.to}?`,
  });
  const applied = await api.apply(target, { approve });
  const failed = applied.flatMap((o) => o.result.failed);
  if (failed.length > 0) {
    const first = failed[0]?.error;
    throw new ModelportError(
      first?.kind ?? 'internal',
      `deploying ${target} failed: ${first?.message ?? 'unknown error'}; the source is untouched`,
      {
        ...(first?.hint === undefined ? {} : { hint: first.hint }),
      },
    );
  }

  // Documents keep their order through the translation: the n-th endpoint of the target is the n-th of the source.
  const endpoints = (await api.load(target)).filter((m) => m.manifest.kind === 'Endpoint');
  const sources = (await api.load(source)).filter((m) => m.manifest.kind === 'Endpoint');
  const results: ParityResult[] = [];
  for (const [i, endpoint] of endpoints.entries()) {
    const from = sources[i];
    if (from === undefined) continue;
    const name = endpoint.manifest.metadata.name;
    const base = flags.report ?? `${target.slice(0, target.length - extname(target).length)}.parity.html`;
    const reportFile = endpoints.length === 1 ? base : base.replace(/\.html$/, `.${name}.html`);
    results.push(
      await compareAndReport(ctx, from, endpoint, payloads, {
        report: reportFile,
        summary: reportFile.replace(/\.html$/, '.json'),
        tolerance: tolerance(flags),
        warmup: 1,
      }),
    );
  }
  const pass = results.every((r) => r.pass);
  if (pass) {
    if (flags.onPass === 'destroy-source') {
      const destroyed = await api.destroy(source, { approve: async () => true });
      if (destroyed.some((o) => !o.result.ok)) {
        throw new ModelportError(
          'internal',
          `parity passed and ${target} serves, but destroying ${source} failed`,
          {
            hint: `run \`modelport destroy ${source}\` again`,
          },
        );
      }
    }
    const said =
      flags.onPass === 'destroy-source'
        ? `; ${source} destroyed`
        : `; ${source} kept (destroy it when traffic has moved)`;
    if (ctx.json)
      ctx.printJson({ ok: true, out: target, report, parity: results.map(summary), source: flags.onPass });
    else ctx.err(ctx.style.green(`migrated to ${report.to}: parity passed${said}`));
    return 0;
  }
  // Parity failed: the source is never touched.
  if (flags.onFail === 'remove-target') await api.destroy(target, { approve: async () => true });
  const said = flags.onFail === 'remove-target' ? `${target} removed` : `${target} kept for inspection`;
  if (ctx.json)
    ctx.printJson({ ok: false, out: target, report, parity: results.map(summary), target: flags.onFail });
  else ctx.err(ctx.style.red(`parity failed: ${said}; ${source} untouched`));
  return PARITY_FAILED;
}

function summary(result: ParityResult): unknown {
  const { cases: _cases, ...rest } = result;
  return rest;
}
