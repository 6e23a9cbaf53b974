// Entry point of a bundle (`run.mjs`, started by `run` with the bundled Node). It checks every file and
// the signature BEFORE anything else of the bundle is loaded: the runtime, onnxruntime's native code and
// the model are imported only once they match bundle.json.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { BundleManifest } from './bundle-format.js';
import { parseRunOptions, RUN_USAGE, RunUsageError, type RunOptions } from './run-options.js';
import type { ServeContext } from './serve-entry.js';
import { verifyBundleDir, type VerifyOptions } from './verify-bundle.js';

const EXIT_CANNOT_START = 1;
const EXIT_USAGE = 2;
const EXIT_VERIFY_FAILED = 3;

async function main(): Promise<number> {
  let options: RunOptions;
  try {
    options = parseRunOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof RunUsageError)) throw error;
    process.stderr.write(`run: ${error.message}\n\n${RUN_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (options.help) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const bundleDir = dirname(fileURLToPath(import.meta.url));
  const verifyOptions: VerifyOptions = { requireSignature: options.requireSignature };
  if (options.pubkey !== undefined) {
    try {
      verifyOptions.publicKeyPem = await readFile(options.pubkey);
    } catch (error) {
      process.stderr.write(
        `run: cannot read the public key ${options.pubkey}: ${(error as Error).message}\n`,
      );
      return EXIT_USAGE;
    }
  }
  const report = await verifyBundleDir(bundleDir, verifyOptions);
  if (options.verifyOnly) {
    const { manifest, ...rest } = report;
    process.stdout.write(
      `${JSON.stringify({ ...rest, name: manifest?.name, version: manifest?.version }, null, 2)}\n`,
    );
    return report.ok ? 0 : EXIT_VERIFY_FAILED;
  }
  if (!report.ok || report.manifest === undefined) {
    process.stderr.write(
      `run: refusing to start: the bundle in ${bundleDir} failed verification:\n${report.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return EXIT_VERIFY_FAILED;
  }
  const manifest: BundleManifest = report.manifest;
  // onnxruntime 1.30 starts a telemetry uploader unless told not to: an offline device has no use for it
  // (and no CA bundle: it logs a warning). Set before onnxruntime is loaded; an explicit value wins.
  process.env['ORT_DISABLE_TELEMETRY'] ??= '1';
  // Only now: the server bundle, which loads onnxruntime.
  const server = (await import(new URL('./app/server.mjs', import.meta.url).href)) as {
    serve(context: ServeContext): Promise<number>;
    batch(context: ServeContext): Promise<number>;
  };
  const verified = {
    signed: report.signed,
    trust: report.trust,
    files: report.files,
    ...(report.keyId === undefined ? {} : { keyId: report.keyId }),
  };
  const entry = options.mode === 'batch' ? server.batch : server.serve;
  return entry({ bundleDir, manifest, options, verified }).catch((error: unknown) => {
    process.stderr.write(`run: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_CANNOT_START;
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `run: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(EXIT_CANNOT_START);
  },
);
