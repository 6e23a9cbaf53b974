import type { Command } from 'commander';
import type { Diagnostic, LoadResult } from '@modelport/core';
import { EXIT_CODES, formatDiagnostic, hasErrors } from '@modelport/core';
import type { ActionWrapper } from '../main.js';

export function registerValidate(program: Command, action: ActionWrapper): void {
  program
    .command('validate')
    .description('check manifests against the schema, the cross-field rules and the target capabilities')
    .argument('<files...>', 'manifest files (YAML or JSON, several documents each)')
    .action(
      action(async (ctx, files: string[]) => {
        const api = ctx.modelport();
        const results: { file: string; result: LoadResult }[] = [];
        // The model file too: it exists, and an ONNX file is one (its top-level structure, not the graph).
        for (const file of files)
          results.push({ file, result: await api.validate(file, { modelFiles: { content: true } }) });
        const failed = results.some((r) => hasErrors(r.result.diagnostics));
        if (ctx.json) {
          ctx.printJson({
            ok: !failed,
            files: results.map(({ file, result }) => ({
              file,
              valid: !hasErrors(result.diagnostics),
              manifests: result.manifests.map((m) => ({
                kind: m.manifest.kind,
                name: m.manifest.metadata.name,
                provider: m.provider,
                specHash: m.specHash,
              })),
              diagnostics: result.diagnostics,
            })),
          });
        } else {
          for (const { file, result } of results) {
            for (const d of result.diagnostics) ctx.err(colour(ctx, d));
            if (!hasErrors(result.diagnostics)) {
              const what = result.manifests.map(
                (m) => `${m.manifest.kind} ${m.manifest.metadata.name} (${m.provider})`,
              );
              ctx.out(`${ctx.style.green('✓')} ${file}: ${what.join(', ')}`);
            } else {
              const count = result.diagnostics.filter((d) => d.severity === 'error').length;
              ctx.err(ctx.style.red(`✗ ${file}: ${count} error${count === 1 ? '' : 's'}`));
            }
          }
        }
        return failed ? EXIT_CODES.invalidInput : 0;
      }),
    );
}

function colour(
  ctx: { style: { red(t: string): string; yellow(t: string): string } },
  d: Diagnostic,
): string {
  const text = formatDiagnostic(d);
  return d.severity === 'error' ? ctx.style.red(text) : ctx.style.yellow(text);
}
