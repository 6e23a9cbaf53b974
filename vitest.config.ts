import { defineConfig } from 'vitest/config';

// Unit tests sit beside the source (*.spec.ts), integration tests are *.int.spec.ts, end-to-end runs of
// the built CLI live in test/. Workspace packages resolve to their built dist/, so `tsc -b` runs first.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'test/**/*.spec.ts', 'examples/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Builds the serving image the emulators run (a folder laid out like the image, see the script).
    globalSetup: ['./scripts/vitest-global-setup.mjs'],
    reporters: ['default', './scripts/vitest-summary-reporter.ts'],
  },
});
