import type { Plan } from '@modelport/core';
import { ModelportError } from '@modelport/core';
import type { CliContext } from '../context.js';
import { renderPlan } from '../output/render-plan.js';

/**
 * The CLI's confirmation before anything is written: the plans are shown (text mode), then `--yes`
 * approves, a terminal is asked, and anything else (CI without --yes) is refused.
 */
export function approvePlans(
  ctx: CliContext,
  options: { yes: boolean | undefined; intent: string; question: string; command: string },
): (plans: readonly Plan[]) => Promise<boolean> {
  return async (plans) => {
    if (!ctx.json) for (const plan of plans) ctx.err(renderPlan(plan, ctx.style));
    if (options.yes === true) return true;
    if (process.stdin.isTTY !== true) {
      throw new ModelportError(
        'invalidInput',
        `refusing to ${options.intent} without confirmation: stdin is not a terminal`,
        { hint: `pass --yes to ${options.command} non-interactively (CI)` },
      );
    }
    return ctx.confirm(options.question);
  };
}
