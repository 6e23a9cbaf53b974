// Tests that spawn node on the compiled runtime need dist/ to match src/: fail early with the fix.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testing') newest = Math.max(newest, newestSource(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/** Throws unless dist/ was built after the last change to src/. */
export function assertDistIsCurrent(): void {
  const marker = join(PACKAGE_DIR, 'dist', '.tsbuildinfo');
  if (!existsSync(marker) || statSync(marker).mtimeMs < newestSource(join(PACKAGE_DIR, 'src'))) {
    throw new Error(
      'packages/runtime/dist is missing or older than src: run `npx tsc -b packages/runtime` first',
    );
  }
}
