import type { Command } from 'commander';
import type { ActionWrapper } from '../main.js';
import { renderTable } from '../output/table.js';

export function registerStatus(program: Command, action: ActionWrapper): void {
  program
    .command('status')
    .description('report the live state of what the manifest deployed')
    .argument('<file>', 'manifest file')
    .option('-n, --name <name>', 'only the document with this metadata.name')
    .action(
      action(async (ctx, file: string, options: { name?: string }) => {
        const statuses = await ctx
          .modelport()
          .status(file, options.name === undefined ? {} : { name: options.name });
        if (ctx.json) {
          ctx.printJson({ ok: true, statuses });
          return;
        }
        for (const status of statuses) {
          ctx.out(ctx.style.bold(`${status.kind} ${status.name} (${status.provider}): ${status.state}`));
          if (status.message !== undefined) ctx.out(`  ${status.message}`);
          if (status.url !== undefined) ctx.out(`  url: ${status.url}`);
          if (status.resources.length > 0) {
            const rows = status.resources.map((r) => [r.type, r.name, r.state, r.message ?? '']);
            ctx.out(indent(renderTable(['TYPE', 'NAME', 'STATE', 'MESSAGE'], rows)));
          }
          for (const [key, value] of Object.entries(status.details ?? {}))
            ctx.out(`  ${key}: ${JSON.stringify(value)}`);
        }
      }),
    );

  program
    .command('list')
    .description('list the deployments modelport manages on a provider')
    .option('-p, --provider <id>', 'provider to list', 'local')
    .option('-r, --region <region>', 'region (cloud providers)')
    .action(
      action(async (ctx, options: { provider: string; region?: string }) => {
        const list = await ctx.modelport().list({
          provider: options.provider,
          ...(options.region === undefined ? {} : { region: options.region }),
        });
        if (ctx.json) {
          ctx.printJson({ ok: true, deployments: list });
          return;
        }
        if (list.length === 0) {
          ctx.out(`no deployments managed by modelport on ${options.provider}`);
          return;
        }
        ctx.out(
          renderTable(
            ['KIND', 'NAME', 'PROVIDER', 'STATE', 'SPEC', 'URL'],
            list.map((d) => [d.kind, d.name, d.provider, d.state, d.specHash ?? '', d.url ?? '']),
          ),
        );
      }),
    );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
