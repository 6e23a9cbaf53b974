// docs/capabilities.md is rendered from the providers' declarations: it fails here when a declaration
// changed without `pnpm gen`, so the documentation never promises what the code does not declare.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('docs/capabilities.md', () => {
  it('matches what the providers declare (run `pnpm gen` when this fails)', () => {
    const result = spawnSync(process.execPath, ['scripts/gen-capabilities.mjs', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
