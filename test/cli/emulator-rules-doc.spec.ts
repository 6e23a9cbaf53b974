// docs/emulator-rules.md is rendered from the rules the emulators declare: it fails here when a rule
// changed without `pnpm gen`, so the documentation lists exactly what the emulators enforce.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('docs/emulator-rules.md', () => {
  it('matches what the emulators declare (run `pnpm gen` when this fails)', () => {
    const result = spawnSync(process.execPath, ['scripts/gen-emulator-rules.mjs', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
