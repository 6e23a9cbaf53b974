import type { Command } from 'commander';
import { Option } from 'commander';
import { isEdgePackage, ModelportError } from '@modelport/core';
import type { ActionWrapper } from '../main.js';
import { renderTable } from '../output/table.js';

interface PackageFlags {
  name?: string;
  sign?: string;
  out?: string;
  format?: string[];
  platform?: string[];
  runtime?: 'native' | 'wasm';
  cacheDir?: string;
  cache: boolean;
  level?: string;
}

function list(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

function humanBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function registerPackage(program: Command, action: ActionWrapper): void {
  program
    .command('package')
    .description(
      'build the offline bundles of an EdgePackage: signed tar.gz, OCI serving image, Greengrass component, IoT Edge deployment',
    )
    .argument('<manifest>', 'manifest of kind EdgePackage')
    .option('-n, --name <name>', 'the EdgePackage, when the file holds several')
    .option(
      '--sign <key>',
      'ed25519 private key (PEM) to sign bundle.json with (default: spec.edge.signing.key)',
    )
    .option('--out <dir>', 'output folder (default: spec.edge.output, else ./<name>-edge)')
    .option(
      '--format <formats>',
      'tar.gz, oci, greengrass, iot-edge (repeatable; default: spec.edge.formats)',
      list,
    )
    .option(
      '--platform <platforms>',
      'linux/amd64, linux/arm64 (repeatable; default: spec.edge.platforms)',
      list,
    )
    .addOption(
      new Option('--runtime <runtime>', 'native (onnxruntime-node) or wasm (onnxruntime-web)').choices([
        'native',
        'wasm',
      ]),
    )
    .option(
      '--cache-dir <dir>',
      'cache of compressed contents and Debian packages (default: $MODELPORT_CACHE_DIR, ~/.cache/modelport)',
    )
    .option('--no-cache', 'compress everything again (a cold build)')
    .option('--level <n>', 'deflate level 1-9 (default 6)')
    .action(
      action(async (ctx, file: string, flags: PackageFlags) => {
        const manifests = await ctx
          .modelport()
          .load(file, flags.name === undefined ? {} : { name: flags.name });
        const edges = manifests.filter(isEdgePackage);
        const [loaded, extra] = edges;
        if (loaded === undefined || extra !== undefined) {
          throw new ModelportError(
            'invalidInput',
            `package needs exactly one EdgePackage, the file has ${edges.length}`,
            {
              hint:
                edges.length > 1
                  ? 'choose one with --name'
                  : 'set kind: EdgePackage (see examples/edge/iris-edge.yaml)',
            },
          );
        }
        // Loaded only here: `validate` and the other commands never pay for the packager.
        const edge = await import('@modelport/edge');
        const formats = (flags.format ?? []).map((format) => {
          const known = edge.EDGE_FORMATS.find((f) => f === format);
          if (known === undefined) {
            throw new ModelportError('invalidInput', `unknown format "${format}"`, {
              hint: `choose from ${edge.EDGE_FORMATS.join(', ')}`,
            });
          }
          return known;
        });
        const platforms = (flags.platform ?? []).map((platform) => edge.platformInfo(platform).platform);
        const started = performance.now();
        const artifacts = await edge.packageEdge(
          loaded,
          {
            ...(flags.out === undefined ? {} : { outDir: flags.out }),
            ...(flags.sign === undefined ? {} : { signingKey: flags.sign }),
            ...(formats.length === 0 ? {} : { formats }),
            ...(platforms.length === 0 ? {} : { platforms }),
            ...(flags.runtime === undefined ? {} : { runtime: flags.runtime }),
            ...(flags.level === undefined ? {} : { compressionLevel: Number(flags.level) }),
            cacheDir: flags.cache ? (flags.cacheDir ?? edge.defaultCacheDir()) : false,
          },
          {
            progress: (message) => {
              if (!ctx.json) ctx.err(ctx.style.dim(message));
            },
            log: (level, message) => {
              if (level !== 'debug' || ctx.verbose)
                ctx.err(level === 'warn' ? ctx.style.yellow(`warning: ${message}`) : message);
            },
          },
        );
        const seconds = (performance.now() - started) / 1000;
        if (ctx.json) {
          ctx.printJson({ ok: true, name: loaded.manifest.metadata.name, seconds, artifacts });
          return 0;
        }
        ctx.out(
          renderTable(
            ['format', 'platform', 'size', 'sha256', 'path'],
            artifacts.map((a) => [
              a.format,
              a.platform ?? '',
              humanBytes(a.bytes),
              a.sha256.slice(0, 16),
              a.path,
            ]),
          ),
        );
        ctx.err(ctx.style.dim(`packaged ${loaded.manifest.metadata.name} in ${seconds.toFixed(1)} s`));
        return 0;
      }),
    );
}
