import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { LoadedManifest } from '@modelport/core';
import { ModelportError } from '@modelport/core';

export const STATE_DIR_ENV = 'MODELPORT_STATE_DIR';

/**
 * Where the local provider keeps its state: MODELPORT_STATE_DIR, else extensions.local.stateDir
 * (relative to the manifest), else `.modelport/` in the working directory, like other IaC tools.
 */
export function stateDirFor(manifest?: LoadedManifest, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[STATE_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  const extensions = manifest?.manifest.spec.extensions as { local?: { stateDir?: string } } | undefined;
  const declared = extensions?.local?.stateDir;
  if (declared !== undefined && manifest !== undefined) return resolve(manifest.baseDir, declared);
  return resolve('.modelport');
}

/** A model URI of the manifest as an absolute local path (the local provider reads local files only). */
export function localModelPath(manifest: LoadedManifest): string {
  const uri = manifest.manifest.spec.model.uri;
  if (uri === undefined) {
    throw new ModelportError('invalidInput', 'spec.model.uri is required by the local provider');
  }
  const path = uri.startsWith('file://') ? new URL(uri).pathname : uri;
  return isAbsolute(path) ? path : resolve(manifest.baseDir, path);
}

export function resolveFromManifest(manifest: LoadedManifest, path: string): string {
  return isAbsolute(path) ? path : resolve(manifest.baseDir, path);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelportError(
      'invalidInput',
      `cannot read the model file ${path}${code === 'ENOENT' ? ': no such file' : ` (${code ?? String(error)})`}`,
      {
        hint: 'spec.model.uri is resolved relative to the manifest file',
      },
    );
  }
  return hash.digest('hex');
}

export function logFile(stateDir: string, kind: string, name: string): string {
  return join(stateDir, 'logs', `${kind.toLowerCase()}-${name}.log`);
}

export function asyncDataDir(stateDir: string, name: string): string {
  return join(stateDir, 'async', name);
}
