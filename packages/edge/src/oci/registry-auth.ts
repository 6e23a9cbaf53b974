import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { ModelportError } from '@modelport/core';

const execFileAsync = promisify(execFile);

/** A secret given as configuration: a literal, an environment variable, or a command that prints it. */
export type Secret = { value: string } | { env: string } | { command: readonly string[] };

/**
 * How to authenticate to a registry, as configuration (never discovered from the environment behind the
 * user's back). Registries answer 401 with a challenge; the client follows it:
 * `Basic` → these credentials on every request; `Bearer realm=...` → a token from the realm, asked for
 * with these credentials (Docker token authentication, what ACR, Artifact Registry and Docker Hub use).
 */
export type RegistryAuth =
  | { type: 'anonymous' }
  | { type: 'basic'; username: string; password: Secret }
  /** A registry token obtained elsewhere, sent as `Authorization: Bearer`. */
  | { type: 'bearer'; token: Secret };

/**
 * The usual credentials of the three clouds' registries, as configuration: each runs the cloud's own
 * CLI to print a short-lived password when a push starts (nothing is stored).
 */
export const registryAuthPresets = {
  /** Amazon ECR: user AWS, password from `aws ecr get-login-password` (12 h). */
  ecr: (region: string): RegistryAuth => ({
    type: 'basic',
    username: 'AWS',
    password: { command: ['aws', 'ecr', 'get-login-password', '--region', region] },
  }),
  /** Azure Container Registry: an Entra ID access token exchanged by `az acr login --expose-token` (3 h). */
  acr: (registryName: string): RegistryAuth => ({
    type: 'basic',
    username: '00000000-0000-0000-0000-000000000000',
    password: {
      command: [
        'az',
        'acr',
        'login',
        '--name',
        registryName,
        '--expose-token',
        '--output',
        'tsv',
        '--query',
        'accessToken',
      ],
    },
  }),
  /** Google Artifact Registry: user oauth2accesstoken, password `gcloud auth print-access-token` (1 h). */
  artifactRegistry: (): RegistryAuth => ({
    type: 'basic',
    username: 'oauth2accesstoken',
    password: { command: ['gcloud', 'auth', 'print-access-token'] },
  }),
} as const;

export async function resolveSecret(secret: Secret, what: string): Promise<string> {
  if ('value' in secret) return secret.value;
  if ('env' in secret) {
    const value = process.env[secret.env];
    if (value === undefined || value === '') {
      throw new ModelportError('auth', `${what}: the environment variable ${secret.env} is not set`, {
        hint: `export ${secret.env}=...`,
      });
    }
    return value;
  }
  const [command, ...args] = secret.command;
  if (command === undefined) throw new ModelportError('invalidInput', `${what}: empty command`);
  try {
    const { stdout } = await execFileAsync(command, args, { timeout: 60_000, maxBuffer: 1 << 20 });
    const value = stdout.trim();
    if (value === '') throw new Error('it printed nothing');
    return value;
  } catch (error) {
    throw new ModelportError(
      'auth',
      `${what}: \`${secret.command.join(' ')}\` failed: ${(error as Error).message.split('\n')[0] ?? ''}`,
      {
        hint: `check that ${command} is installed and logged in`,
        cause: error,
      },
    );
  }
}

/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string | null): Challenge | undefined {
  if (header === null) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  for (const part of (match[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(part[1] ?? '').toLowerCase()] = part[2] ?? part[3] ?? '';
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}
