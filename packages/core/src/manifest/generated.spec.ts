import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('generated manifest types and validator', () => {
  it('are up to date with schemas/manifest.schema.json (types cannot drift from the schema)', () => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    // Exits non-zero and names the stale file when `pnpm gen` was not run after a schema change.
    expect(() =>
      execFileSync('node', ['scripts/gen-manifest-types.mjs', '--check'], { cwd: root, stdio: 'pipe' }),
    ).not.toThrow();
  });
});
