import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isEndpoint, ModelportError } from '@modelport/core';
import type { CliContext } from '../context.js';
import type { ActionWrapper } from '../main.js';

interface ServeFlags {
  name?: string;
  port: string;
  host: string;
}

export function registerServe(program: Command, action: ActionWrapper): void {
  program
    .command('serve')
    .description(
      "run an endpoint's model server in the foreground (the same server the local provider and the images run)",
    )
    .argument('<manifest>', 'manifest of an ONNX endpoint with a local model file')
    .option('-n, --name <name>', 'the endpoint, when the file holds several')
    .option('-p, --port <port>', 'port to listen on', '8080')
    .option('--host <host>', 'address to bind (0.0.0.0 inside a container)', '127.0.0.1')
    .action(
      action(async (ctx, file: string, flags: ServeFlags) => {
        const manifests = await ctx
          .modelport()
          .load(file, flags.name === undefined ? {} : { name: flags.name });
        const endpoints = manifests.filter(isEndpoint);
        const [loaded, extra] = endpoints;
        if (loaded === undefined || extra !== undefined) {
          throw new ModelportError(
            'invalidInput',
            `serve needs exactly one Endpoint, the file has ${endpoints.length}`,
            {
              hint: 'choose one with --name',
            },
          );
        }
        const spec = loaded.manifest.spec;
        if (
          spec.model.format !== 'onnx' ||
          spec.model.uri === undefined ||
          /^[a-z][a-z0-9+.-]*:\/\//i.test(spec.model.uri)
        ) {
          throw new ModelportError('invalidInput', 'serve runs ONNX models from a local file', {
            hint: 'set spec.model.format: onnx and spec.model.uri to a path relative to the manifest',
          });
        }
        const modelPath = isAbsolute(spec.model.uri)
          ? spec.model.uri
          : resolve(loaded.baseDir, spec.model.uri);
        await refuseTakenPort(ctx, flags.host, flags.port);
        const scratch = mkdtempSync(join(tmpdir(), 'modelport-serve-'));
        const args = [
          createRequire(import.meta.url).resolve('@modelport/runtime/serve'),
          '--model',
          modelPath,
          '--name',
          loaded.manifest.metadata.name,
          '--host',
          flags.host,
          '--port',
          flags.port,
          ...(spec.limits?.payloadMB === undefined
            ? []
            : ['--max-payload-mb', String(spec.limits.payloadMB)]),
          ...(spec.limits?.timeoutSeconds === undefined
            ? []
            : ['--timeout-s', String(spec.limits.timeoutSeconds)]),
        ];
        if (spec.model.signature !== undefined) {
          const signaturePath = join(scratch, 'signature.json');
          writeFileSync(signaturePath, JSON.stringify(spec.model.signature));
          args.push('--signature', signaturePath);
        }
        if (!ctx.json)
          ctx.err(
            ctx.style.dim(
              `serving ${loaded.manifest.metadata.name} on http://${flags.host}:${flags.port} (Ctrl-C stops)`,
            ),
          );
        // The runtime's own entry point: it logs JSON lines and drains in-flight requests on SIGINT/SIGTERM.
        const child = spawn(process.execPath, args, { stdio: 'inherit' });
        const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
        process.on('SIGTERM', forward);
        process.on('SIGINT', forward);
        try {
          return await new Promise<number>((resolveExit) =>
            child.on('exit', (code) => resolveExit(code ?? 1)),
          );
        } finally {
          process.off('SIGTERM', forward);
          process.off('SIGINT', forward);
          rmSync(scratch, { recursive: true, force: true });
        }
      }),
    );
}

/**
 * A port that is taken is a conflict (exit 4), said before the server starts, with who holds it when it is
 * a local endpoint of modelport's.
 */
async function refuseTakenPort(ctx: CliContext, host: string, raw: string): Promise<void> {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ModelportError('invalidInput', `--port ${raw}: expected a port number (0-65535)`, {
      hint: 'e.g. --port 8080 (0 picks a free one)',
    });
  }
  if (port === 0 || !(await portInUse(host, port))) return;
  const local = await ctx
    .modelport()
    .list({ provider: 'local' })
    .catch(() => []);
  const owner = local.find((d) => d.url !== undefined && new URL(d.url).port === String(port));
  throw new ModelportError(
    'conflict',
    `cannot serve on ${host}:${port}: the port is in use${owner === undefined ? '' : ` by the local endpoint ${owner.name} (modelport list)`}`,
    {
      hint:
        owner === undefined
          ? `choose another --port (\`ss -ltnp 'sport = :${port}'\` shows the process that holds it)`
          : `choose another --port, or remove ${owner.name} with \`modelport destroy <its manifest> --yes\``,
    },
  );
}

function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolveInUse) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolveInUse(error.code === 'EADDRINUSE'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolveInUse(false)));
  });
}
