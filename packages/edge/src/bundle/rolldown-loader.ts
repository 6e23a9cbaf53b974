import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ModelportError } from '@modelport/core';

import { EDGE_PACKAGE_DIR } from '../sources.js';

/** The part of rolldown's API the packager uses (typed here: rolldown is loaded at run time). */
export interface Rolldown {
  rolldown(options: Record<string, unknown>): Promise<{
    generate(
      options: Record<string, unknown>,
    ): Promise<{ output: { type: string; fileName: string; code?: string }[] }>;
    close(): Promise<void>;
  }>;
  VERSION?: string;
}

let loaded: Promise<Rolldown> | undefined;

/**
 * rolldown, resolved from this package (where it belongs as a dependency) or, failing that, from the
 * copy the workspace's vite brings (a development fallback, until it is declared).
 */
export function loadRolldown(): Promise<Rolldown> {
  loaded ??= (async () => {
    const candidates: string[] = [];
    const attempts: { from: string; chain: string[] }[] = [
      { from: EDGE_PACKAGE_DIR, chain: ['rolldown'] },
      { from: join(EDGE_PACKAGE_DIR, '..', '..'), chain: ['vitest', 'vite', 'rolldown'] },
    ];
    for (const { from, chain } of attempts) {
      try {
        let base = join(from, 'package.json');
        for (const name of chain.slice(0, -1)) base = createRequire(base).resolve(`${name}/package.json`);
        candidates.push(createRequire(base).resolve(chain[chain.length - 1] as string));
        break;
      } catch {
        // try the next place
      }
    }
    const found = candidates[0];
    if (found === undefined) {
      throw new ModelportError('notFound', 'the bundler (rolldown) is not installed', {
        hint: 'add rolldown to @modelport/edge dependencies (pnpm add rolldown --filter @modelport/edge)',
      });
    }
    return (await import(pathToFileURL(found).href)) as Rolldown;
  })();
  return loaded;
}
