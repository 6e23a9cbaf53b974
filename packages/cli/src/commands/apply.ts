import type { Command } from 'commander';
import type { ApplyOutcome, Modelport } from '@modelport/core';
import { EXIT_CODES, hasChanges, isEndpoint } from '@modelport/core';
import type { CliContext } from '../context.js';
import type { ActionWrapper } from '../main.js';
import type { Invocation } from '../output/invocation.js';
import { declaredInputs, fileInputs, invocationFor, servedInputs } from '../output/invocation.js';
import { approvePlans } from './approve-plans.js';
import { planJson } from './plan.js';

interface ApplyFlags {
  yes?: boolean;
  name?: string;
}

export function registerApply(program: Command, action: ActionWrapper): void {
  program
    .command('apply')
    .description('make the deployment match the manifest (shows the plan and asks first)')
    .argument('<file>', 'manifest file')
    .option('-y, --yes', 'apply without asking (for CI)')
    .option('-n, --name <name>', 'only the document with this metadata.name')
    .action(action(async (ctx, file: string, flags: ApplyFlags) => runApply(ctx, file, flags, 'apply')));

  program
    .command('destroy')
    .description('remove everything the manifest deployed (shows what goes and asks first)')
    .argument('<file>', 'manifest file')
    .option('-y, --yes', 'destroy without asking (for CI)')
    .option('-n, --name <name>', 'only the document with this metadata.name')
    .action(action(async (ctx, file: string, flags: ApplyFlags) => runApply(ctx, file, flags, 'destroy')));
}

async function runApply(
  ctx: CliContext,
  file: string,
  flags: ApplyFlags,
  intent: 'apply' | 'destroy',
): Promise<number> {
  const api = ctx.modelport();
  const approve = approvePlans(ctx, {
    yes: flags.yes,
    intent,
    command: intent,
    question: intent === 'apply' ? 'Apply these changes?' : 'Destroy these resources?',
  });
  const select = { approve, ...(flags.name === undefined ? {} : { name: flags.name }) };
  const outcomes = intent === 'apply' ? await api.apply(file, select) : await api.destroy(file, select);
  const ok = outcomes.every((o) => o.result.ok);
  // Where each endpoint now answers, and how to call it: what a user wants next.
  const invocations =
    ok && intent === 'apply'
      ? await endpointInvocations(api, file, flags.name)
      : new Map<string, Invocation>();
  if (ctx.json) {
    ctx.printJson({
      ok,
      outcomes: outcomes.map((o) => outcomeJson(o, invocations.get(endpointKey(o.plan.kind, o.plan.name)))),
    });
  } else {
    for (const outcome of outcomes) ctx.err(summary(ctx, outcome, intent));
    for (const [key, invocation] of invocations) {
      const note = invocation.note === undefined ? '' : ` (${invocation.note})`;
      ctx.out(`${key} answers at ${invocation.url}; call it with${note}:`);
      ctx.out(invocation.command);
    }
  }
  if (ok) return 0;
  const firstError = outcomes.flatMap((o) => o.result.failed)[0]?.error;
  if (!ctx.json && firstError?.hint !== undefined) ctx.err(`  → ${firstError.hint}`);
  return firstError === undefined ? 1 : EXIT_CODES[firstError.kind];
}

function summary(ctx: CliContext, outcome: ApplyOutcome, intent: string): string {
  const { plan, result } = outcome;
  const label = `${plan.kind} ${plan.name}`;
  if (!hasChanges(plan)) return ctx.style.green(`${label}: up to date, nothing to ${intent}`);
  if (result.ok)
    return ctx.style.green(
      `${label}: ${intent} complete (${result.done.length} change(s), ${(result.durationMs / 1000).toFixed(1)} s)`,
    );
  const failure = result.failed.map((f) => `${f.id}: ${f.error.message}`).join('; ');
  const rolled = result.rolledBack.length > 0 ? `; rolled back ${result.rolledBack.join(', ')}` : '';
  return ctx.style.red(`${label}: ${intent} failed: ${failure}${rolled}`);
}

function endpointKey(kind: string, name: string): string {
  return `${kind} ${name}`;
}

/**
 * The URL and a call of every endpoint the file deployed, keyed by `Endpoint <name>`, from `status` (none
 * where the provider gives no URL). Never fails the apply: a status that cannot be read just says nothing.
 */
async function endpointInvocations(
  api: Modelport,
  file: string,
  name: string | undefined,
): Promise<Map<string, Invocation>> {
  const found = new Map<string, Invocation>();
  try {
    const select = name === undefined ? {} : { name };
    const endpoints = (await api.load(file, select, { modelFiles: false })).filter(isEndpoint);
    if (endpoints.length === 0) return found;
    const statuses = await api.status(endpoints);
    for (const [i, manifest] of endpoints.entries()) {
      const status = statuses[i];
      if (status?.url === undefined) continue;
      const inputs =
        declaredInputs(manifest) ??
        fileInputs(manifest) ??
        (status.provider === 'local'
          ? await servedInputs(status.url, manifest.manifest.metadata.name)
          : undefined);
      const invocation = invocationFor(status, manifest, inputs);
      if (invocation !== undefined)
        found.set(endpointKey('Endpoint', manifest.manifest.metadata.name), invocation);
    }
  } catch {
    // The apply succeeded; only the hint is missing.
  }
  return found;
}

function outcomeJson(outcome: ApplyOutcome, invocation: Invocation | undefined): unknown {
  return {
    ...(invocation === undefined ? {} : { url: invocation.url, invoke: invocation.command }),
    plan: planJson(outcome.plan),
    result: {
      ...outcome.result,
      failed: outcome.result.failed.map((f) => ({ id: f.id, error: f.error.toJSON() })),
    },
  };
}
