import type { Command } from 'commander';
import type { Plan } from '@modelport/core';
import { hasChanges } from '@modelport/core';
import type { ActionWrapper } from '../main.js';
import { renderPlan } from '../output/render-plan.js';

export function registerPlan(program: Command, action: ActionWrapper): void {
  program
    .command('plan')
    .description('read the live deployment and show what apply would change')
    .argument('<file>', 'manifest file')
    .option('-n, --name <name>', 'only the document with this metadata.name')
    .option('--destroy', 'show what destroy would remove')
    .option('--detailed-exitcode', 'exit 0 when nothing would change, 64 when something would')
    .action(
      action(
        async (
          ctx,
          file: string,
          options: { name?: string; destroy?: boolean; detailedExitcode?: boolean },
        ) => {
          const api = ctx.modelport();
          const select = options.name === undefined ? {} : { name: options.name };
          if (ctx.yaml) {
            // GitOps: the exact resources apply would write, as YAML documents.
            const { dump } = await import('js-yaml');
            const documents = await api.render(file, select);
            ctx.out(documents.map((d) => dump(d, { noRefs: true, lineWidth: -1 }).trimEnd()).join('\n---\n'));
            return 0;
          }
          const plans =
            options.destroy === true ? await api.planDestroy(file, select) : await api.plan(file, select);
          if (ctx.json) ctx.printJson({ ok: true, plans: plans.map(planJson) });
          else for (const plan of plans) ctx.out(renderPlan(plan, ctx.style, { showNoop: ctx.verbose }));
          return options.detailedExitcode === true && plans.some(hasChanges) ? 64 : 0;
        },
      ),
    );
}

/** A plan for --output json: the observed raw objects stay out (they can be large and hold provider internals). */
export function planJson(plan: Plan): unknown {
  return {
    ...plan,
    actions: plan.actions.map(({ observed, desired, ...rest }) => ({
      ...rest,
      ...(desired === undefined ? {} : { desired: { properties: desired.properties } }),
      ...(observed === undefined
        ? {}
        : {
            observed: { properties: observed.properties, state: observed.state, specHash: observed.specHash },
          }),
    })),
  };
}
