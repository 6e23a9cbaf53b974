// Generates docs/capabilities.md from the capability declarations of the providers shipped with modelport
// (each package's capabilities module: data, no SDK). `--check` exits 1 when the committed file is stale
// (a test runs it). Needs a built tree (`tsc -b`).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';

const root = fileURLToPath(new URL('..', import.meta.url));
const outPath = `${root}docs/capabilities.md`;
const cli = await import(`${root}packages/cli/dist/index.js`);

export async function renderDoc() {
  const registry = new cli.LazyProviderRegistry(cli.builtinDeclarations(), {
    load: async () => undefined,
    getAll: () => [],
  });
  await registry.loadCapabilities();
  const broken = registry.ids().filter((id) => registry.problemOf(id) !== undefined);
  if (broken.length > 0) {
    throw new Error(
      `cannot read the declarations of ${broken.map((id) => `${id}: ${registry.problemOf(id)}`).join('; ')}`,
    );
  }
  const all = registry.ids().map((id) => registry.capabilitiesOf(id));
  const options = (await prettier.resolveConfig(outPath)) ?? {};
  return prettier.format(cli.renderCapabilityDoc(all), { ...options, parser: 'markdown' });
}

const text = await renderDoc();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(outPath, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error("docs/capabilities.md is stale: run `pnpm gen` (it renders the providers' declarations)");
    process.exit(1);
  }
} else {
  writeFileSync(outPath, text);
  console.log(`wrote ${outPath}`);
}
