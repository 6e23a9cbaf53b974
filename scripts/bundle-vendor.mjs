// Bundles inversify into packages/core/dist/vendor/inversify.js. inversify 8 ships ~560 ES modules;
// resolving them costs ~400 ms at every start of a command that loads a provider, the bundle ~20 ms.
// packages/core/src/di.ts uses the bundle when it exists and the package otherwise.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const core = fileURLToPath(new URL('../packages/core/', import.meta.url));
const entry = createRequire(`${core}package.json`).resolve('inversify');

await build({
  input: entry,
  platform: 'node',
  logLevel: 'warn',
  external: ['reflect-metadata'],
  output: { file: `${core}dist/vendor/inversify.js`, format: 'esm', codeSplitting: false },
});
