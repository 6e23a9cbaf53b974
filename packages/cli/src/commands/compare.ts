import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ManifestInput, ParityResult, Payload, SelectOptions, Tolerance } from '@modelport/core';
import { DEFAULT_TOLERANCE, ModelportError, parsePayloads } from '@modelport/core';
import type { CliContext } from '../context.js';
import type { ActionWrapper } from '../main.js';
import { renderParityHtml } from '../output/parity-html.js';
import { renderTable } from '../output/table.js';
import { checkOutputTarget, writeOutputFile } from '../output/write-file.js';

/** Exit code of a parity check that ran and failed (mismatched answers or errors). */
export const PARITY_FAILED = 11;

interface CompareFlags {
  payloads: string;
  report: string;
  summary: string;
  tolerance: string;
  rtol: string;
  warmup: string;
  nameA?: string;
  nameB?: string;
}

export function registerCompare(program: Command, action: ActionWrapper): void {
  program
    .command('compare')
    .description('send the same payloads to two deployed endpoints and report parity and latency')
    .argument(
      '<manifest-a>',
      'manifest of the first endpoint (the reference, e.g. the source of a migration)',
    )
    .argument('<manifest-b>', 'manifest of the second endpoint')
    .requiredOption('-p, --payloads <file.jsonl>', 'request bodies, one JSON document per line')
    .option('--report <file.html>', 'HTML report with latency charts and mismatches', 'modelport-parity.html')
    .option(
      '--summary <file.json>',
      'JSON summary (also printed with --output json)',
      'modelport-parity.json',
    )
    .option('--tolerance <abs>', 'absolute tolerance for scores', String(DEFAULT_TOLERANCE.absolute))
    .option('--rtol <rel>', 'relative tolerance for scores', String(DEFAULT_TOLERANCE.relative))
    .option('--warmup <n>', 'untimed requests to each side first', '1')
    .option('--name-a <name>', 'the endpoint in manifest A, when it holds several')
    .option('--name-b <name>', 'the endpoint in manifest B, when it holds several')
    .action(
      action(async (ctx, a: string, b: string, flags: CompareFlags) => {
        const result = await runCompare(ctx, a, b, flags);
        return result.pass ? 0 : PARITY_FAILED;
      }),
    );
}

async function runCompare(ctx: CliContext, a: string, b: string, flags: CompareFlags): Promise<ParityResult> {
  const payloads = await readPayloads(flags.payloads);
  return compareAndReport(ctx, a, b, payloads, {
    report: flags.report,
    summary: flags.summary,
    tolerance: tolerance(flags),
    warmup: nonNegative(flags.warmup, '--warmup'),
    select: {
      ...(flags.nameA === undefined ? {} : { a: { name: flags.nameA } }),
      ...(flags.nameB === undefined ? {} : { b: { name: flags.nameB } }),
    },
  });
}

export async function readPayloads(file: string): Promise<Payload[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ModelportError('invalidInput', `cannot read ${file}: ${(error as Error).message}`, {
      hint: 'pass --payloads <file.jsonl>: one JSON request body per line',
    });
  }
  return parsePayloads(text, file);
}

export function tolerance(flags: { tolerance: string; rtol: string }): Tolerance {
  return {
    absolute: nonNegative(flags.tolerance, '--tolerance'),
    relative: nonNegative(flags.rtol, '--rtol'),
  };
}

function nonNegative(raw: string, flag: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new ModelportError('invalidInput', `${flag} must be a number ≥ 0 (got "${raw}")`);
  }
  return value;
}

export interface CompareOutputs {
  report: string;
  summary: string;
  tolerance: Tolerance;
  warmup: number;
  select?: { a?: SelectOptions; b?: SelectOptions };
}

/** Runs the parity check, writes the HTML report and the JSON summary, prints the verdict. */
export async function compareAndReport(
  ctx: CliContext,
  a: ManifestInput,
  b: ManifestInput,
  payloads: readonly Payload[],
  outputs: CompareOutputs,
): Promise<ParityResult> {
  // Refused before any request is sent: a FIFO, a folder or a link is never replaced.
  await checkOutputTarget(outputs.report, { option: '--report' });
  await checkOutputTarget(outputs.summary, { option: '--summary' });
  const api = ctx.modelport();
  const progress = process.stderr.isTTY === true && !ctx.json;
  const result = await api.compare(a, b, payloads, {
    tolerance: outputs.tolerance,
    warmup: outputs.warmup,
    ...(outputs.select === undefined ? {} : { select: outputs.select }),
    ...(progress ? { onProgress: (done, total) => process.stderr.write(`\rcompared ${done}/${total}`) } : {}),
  });
  if (progress) process.stderr.write('\n');
  await writeOutputFile(outputs.report, renderParityHtml(result), { option: '--report' });
  await writeOutputFile(outputs.summary, `${JSON.stringify(result, null, 2)}\n`, { option: '--summary' });
  if (ctx.json) {
    ctx.printJson({
      ok: result.pass,
      report: outputs.report,
      summary: outputs.summary,
      ...result,
      cases: undefined,
    });
    return result;
  }
  const verdict = result.pass ? ctx.style.green('PASS') : ctx.style.red('FAIL');
  ctx.out(
    `${verdict} ${result.total} payload(s): ${result.matched} matched, ${result.mismatched} mismatched, ${result.errors} error(s)`,
  );
  const l = result.latency;
  ctx.out(
    renderTable(
      ['', 'PROVIDER', 'ENDPOINT', 'P50 MS', 'P90 MS', 'P99 MS', 'MEAN MS'],
      [
        ['A', result.a.provider, result.a.name, l.a.p50Ms, l.a.p90Ms, l.a.p99Ms, l.a.meanMs].map(String),
        ['B', result.b.provider, result.b.name, l.b.p50Ms, l.b.p90Ms, l.b.p99Ms, l.b.meanMs].map(String),
      ],
    ),
  );
  for (const c of result.cases.filter((x) => x.outcome !== 'match').slice(0, 10)) {
    const what =
      c.outcome === 'error'
        ? c.error
        : `${c.difference?.reason} at ${c.difference?.path}: A ${JSON.stringify(c.difference?.a)}, B ${JSON.stringify(c.difference?.b)}`;
    ctx.err(ctx.style.red(`  line ${c.line}: ${what}`));
  }
  ctx.out(`report: ${outputs.report}\nsummary: ${outputs.summary}`);
  return result;
}
