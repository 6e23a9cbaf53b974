import type { Command } from 'commander';
import { EXIT_CODES, ModelportError } from '@modelport/core';
import type { RegistryAuth } from '@modelport/edge';
import type { ActionWrapper } from '../main.js';

interface VerifyFlags {
  pubkey?: string;
  requireSignature?: boolean;
}

interface PushFlags {
  tag: string[];
  authPreset?: string;
  username?: string;
  passwordEnv?: string;
  tokenEnv?: string;
  plainHttp?: boolean;
  manifestFormat?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--auth-preset ecr:<region> | acr:<registry name> | gar`, or explicit credentials from the environment. */
async function registryAuth(flags: PushFlags): Promise<RegistryAuth | undefined> {
  const { registryAuthPresets } = await import('@modelport/edge');
  if (flags.authPreset !== undefined) {
    const [kind, arg] = flags.authPreset.split(':', 2);
    if (kind === 'ecr' && arg !== undefined) return registryAuthPresets.ecr(arg);
    if (kind === 'acr' && arg !== undefined) return registryAuthPresets.acr(arg);
    if (kind === 'gar' || kind === 'artifact-registry') return registryAuthPresets.artifactRegistry();
    throw new ModelportError('invalidInput', `unknown --auth-preset "${flags.authPreset}"`, {
      hint: 'ecr:<region>, acr:<registry name> or gar',
    });
  }
  if (flags.tokenEnv !== undefined) return { type: 'bearer', token: { env: flags.tokenEnv } };
  if (flags.username !== undefined) {
    if (flags.passwordEnv === undefined) {
      throw new ModelportError('invalidInput', '--username needs --password-env <VARIABLE>', {
        hint: 'passwords are read from the environment, never from the command line',
      });
    }
    return { type: 'basic', username: flags.username, password: { env: flags.passwordEnv } };
  }
  return undefined;
}

export function registerEdge(program: Command, action: ActionWrapper): void {
  const edge = program.command('edge').description('signing keys and verification of edge bundles');

  edge
    .command('keygen')
    .description('create an ed25519 key pair to sign bundles with (<name>.key, mode 0600, and <name>.pub)')
    .requiredOption('--out <dir>', 'folder to write the keys to')
    .option('--name <name>', 'file name of the keys', 'modelport-signing')
    .action(
      action(async (ctx, flags: { out: string; name: string }) => {
        const { generateSigningKeys } = await import('@modelport/edge');
        const keys = await generateSigningKeys(flags.out, flags.name);
        if (ctx.json) ctx.printJson({ ok: true, ...keys });
        else {
          ctx.out(
            `private key: ${keys.privateKeyPath} (keep it secret; sign with \`modelport package --sign\`)`,
          );
          ctx.out(
            `public key:  ${keys.publicKeyPath} (give it to devices: \`run --pubkey\`, \`modelport edge verify --pubkey\`)`,
          );
          ctx.out(`key id:      ${keys.keyId}`);
        }
      }),
    );

  edge
    .command('verify')
    .description(
      'check a bundle (.tar.gz or folder): the signature, every file against bundle.json, no extra files',
    )
    .argument('<bundle>', 'bundle .tar.gz or extracted folder')
    .option(
      '--pubkey <key>',
      'public key (PEM) the bundle must be signed with; without it the embedded key is used',
    )
    .option('--require-signature', 'fail on an unsigned bundle')
    .action(
      action(async (ctx, bundle: string, flags: VerifyFlags) => {
        const { verifyBundle } = await import('@modelport/edge');
        const report = await verifyBundle(bundle, {
          ...(flags.pubkey === undefined ? {} : { publicKey: flags.pubkey }),
          ...(flags.requireSignature === true ? { requireSignature: true } : {}),
        });
        const { manifest, ...rest } = report;
        if (ctx.json) {
          ctx.printJson({
            ...rest,
            name: manifest?.name,
            version: manifest?.version,
            platform: manifest?.platform,
          });
        } else if (report.ok) {
          const who =
            report.trust === 'given-key'
              ? `signed by ${report.keyId ?? '?'} (the given key)`
              : report.trust === 'embedded-key'
                ? `signed by ${report.keyId ?? '?'} (its embedded key: give --pubkey to check who signed it)`
                : 'not signed';
          ctx.out(
            `${ctx.style.green('✓')} ${bundle}: ${manifest?.name ?? ''} ${manifest?.version ?? ''} ${manifest?.platform ?? ''}, ${report.files} files intact, ${who}`,
          );
        } else {
          ctx.err(ctx.style.red(`✗ ${bundle} failed verification:`));
          for (const problem of report.problems) ctx.err(`  - ${problem}`);
        }
        return report.ok ? 0 : EXIT_CODES.invalidInput;
      }),
    );

  edge
    .command('extract')
    .description('unpack a bundle .tar.gz into a new folder, refusing entries that would land outside it')
    .argument('<bundle>', 'bundle .tar.gz')
    .argument('<dir>', 'folder to create')
    .action(
      action(async (ctx, bundle: string, dir: string) => {
        const { extractBundle } = await import('@modelport/edge');
        const result = await extractBundle(bundle, dir);
        if (ctx.json) ctx.printJson({ ok: true, dir, ...result });
        else ctx.out(`extracted ${result.files} files to ${dir}; start it with ${dir}/run`);
      }),
    );

  const image = program.command('image').description('the portable serving image (OCI)');
  image
    .command('push')
    .description(
      'push OCI image layouts (from `modelport package --format oci`) to a registry over the distribution API, ' +
        'as Docker V2 Schema 2 manifests for ECR (SageMaker refuses OCI manifests), as OCI elsewhere',
    )
    .argument(
      '<layouts...>',
      'OCI layout folders (several: one per platform, pushed under one tag as an index or manifest list; ' +
        'on ECR that warns: SageMaker documents single-platform tags, so push one layout per tag for it)',
    )
    .requiredOption('--to <reference>', 'registry/repository:tag, e.g. myacr.azurecr.io/iris:1.0.0')
    .option('--tag <tag>', 'tag of the image in each layout (default: its only image)', collect, [])
    .option(
      '--manifest-format <format>',
      'docker (Docker V2 Schema 2, what SageMaker needs) or oci; default: docker for *.dkr.ecr.*.amazonaws.com, else oci',
    )
    .option(
      '--auth-preset <preset>',
      'ecr:<region>, acr:<registry name> or gar: credentials from the cloud CLI',
    )
    .option('--username <user>', 'basic/token-service user (with --password-env)')
    .option('--password-env <variable>', 'environment variable holding the password')
    .option('--token-env <variable>', 'environment variable holding a registry bearer token')
    .option('--plain-http', 'talk HTTP, not HTTPS (default only for localhost)')
    .action(
      action(async (ctx, layouts: string[], flags: PushFlags & { to: string }) => {
        const { pushImages, readImageLayout, describeMediaType, MANIFEST_FORMATS } =
          await import('@modelport/edge');
        const manifestFormat = MANIFEST_FORMATS.find((f) => f === flags.manifestFormat);
        if (flags.manifestFormat !== undefined && manifestFormat === undefined) {
          throw new ModelportError('invalidInput', `unknown --manifest-format "${flags.manifestFormat}"`, {
            hint: `use ${MANIFEST_FORMATS.join(' or ')}`,
          });
        }
        const resolved: { dir: string; tag: string }[] = [];
        for (const [i, dir] of layouts.entries()) {
          const tag = flags.tag[i] ?? flags.tag[0];
          const { manifestDescriptor } = await readImageLayout(dir, tag);
          resolved.push({
            dir,
            tag: tag ?? manifestDescriptor.annotations?.['org.opencontainers.image.ref.name'] ?? '',
          });
        }
        const auth = await registryAuth(flags);
        const result = await pushImages(resolved, flags.to, {
          ...(auth === undefined ? {} : { auth }),
          ...(flags.plainHttp === true ? { plainHttp: true } : {}),
          ...(manifestFormat === undefined ? {} : { manifestFormat }),
          onProgress: (message) => {
            if (!ctx.json) ctx.err(ctx.style.dim(message));
          },
        });
        if (ctx.json) {
          ctx.printJson({ ok: true, ...result });
          return;
        }
        ctx.out(
          `pushed ${result.reference}@${result.digest} as a ${describeMediaType(result.mediaType)} (${result.mediaType}); ${result.blobsUploaded} blobs uploaded, ${result.blobsSkipped} already there`,
        );
        for (const m of result.manifests) {
          const platform = `${m.platform.os}/${m.platform.architecture}${m.platform.variant === undefined ? '' : `/${m.platform.variant}`}`;
          ctx.out(`  ${platform}: ${m.digest} (${m.mediaType})`);
        }
        for (const warning of result.warnings) ctx.err(ctx.style.yellow(`warning: ${warning}`));
      }),
    );
}
