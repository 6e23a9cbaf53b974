import type { Command } from 'commander';
import type { Capabilities } from '@modelport/core';
import type { ActionWrapper } from '../main.js';
import { createRegistry } from '../composition.js';
import { capabilityRows } from '../output/capability-matrix.js';
import { renderTable } from '../output/table.js';

export function registerProviders(program: Command, action: ActionWrapper): void {
  program
    .command('providers')
    .description(
      'list installed providers and what each can do (reads declarations only, loads no cloud SDK)',
    )
    .action(
      action(async (ctx) => {
        const globals = program.opts<{ plugin: string[] }>();
        const registry = createRegistry({ plugins: globals.plugin });
        await registry.loadCapabilities();
        const declarations = registry.declarations();
        const all = declarations
          .map((d) => registry.capabilitiesOf(d.id))
          .filter((c): c is Capabilities => c !== undefined);
        if (ctx.json) {
          ctx.printJson({
            ok: true,
            providers: declarations.map((d) => ({
              id: d.id,
              package: d.packageName,
              version: d.packageVersion,
              origin: d.origin,
              capabilities: registry.capabilitiesOf(d.id),
              ...(registry.problemOf(d.id) === undefined ? {} : { problem: registry.problemOf(d.id) }),
            })),
          });
          return;
        }
        const { headers, rows } = capabilityRows(all);
        ctx.out(renderTable(headers, rows));
        for (const d of declarations) {
          const problem = registry.problemOf(d.id);
          if (problem !== undefined) ctx.err(ctx.style.red(`${d.id}: cannot be loaded: ${problem}`));
        }
        const plugins = declarations.filter((d) => d.origin === 'plugin');
        if (plugins.length > 0)
          ctx.out(
            `\nplugins: ${plugins.map((p) => `${p.id} (${p.packageName}@${p.packageVersion})`).join(', ')}`,
          );
      }),
    );
}
