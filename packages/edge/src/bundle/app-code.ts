import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { ModelportError } from '@modelport/core';

import { EDGE_PACKAGE_DIR } from '../sources.js';
import { loadRolldown } from './rolldown-loader.js';

/**
 * The JavaScript of a bundle: run.mjs (verification, no dependencies), app/server.mjs (the runtime) and
 * app/s3.mjs (the AWS SDK's S3 client, imported by server.mjs only for an s3:// model, input or output).
 */
export interface AppCode {
  run: string;
  server: string;
  s3: string;
}

const APP_DIR = join(EDGE_PACKAGE_DIR, 'dist', 'app');
const cache = new Map<string, Promise<AppCode>>();

async function bundleOne(input: string, options: { wasm: boolean }): Promise<string> {
  const { rolldown } = await loadRolldown();
  const build = await rolldown({
    input,
    platform: 'node',
    // Relative paths in the output's region comments come from here: fixed, so the bytes are too.
    cwd: EDGE_PACKAGE_DIR,
    logLevel: 'warn',
    // onnxruntime stays a real package in the bundle's node_modules: its native addon (or its .wasm) is
    // found relative to its own files.
    // (In wasm bundles onnxruntime-node is not external: it is aliased to the onnxruntime-web shim.)
    external: options.wasm
      ? [/^node:/, /^onnxruntime-(web|common)$/]
      : [/^node:/, /^onnxruntime-(node|common)$/],
    ...(options.wasm ? { resolve: { alias: { 'onnxruntime-node': join(APP_DIR, 'ort-web-shim.js') } } } : {}),
  });
  try {
    const { output } = await build.generate({ format: 'esm', sourcemap: false, codeSplitting: false });
    const chunks = output.filter((o) => o.type === 'chunk');
    if (chunks.length !== 1 || chunks[0]?.code === undefined) {
      throw new Error(`expected one chunk from ${input}, got ${output.map((o) => o.fileName).join(', ')}`);
    }
    return chunks[0].code;
  } finally {
    await build.close();
  }
}

/**
 * Bundles the on-device code (src/app, compiled to dist/app) with the modelport runtime into three
 * self-contained ES modules. `wasm` swaps onnxruntime-node for onnxruntime-web. Built once per process.
 */
export function buildAppCode(runtime: 'native' | 'wasm'): Promise<AppCode> {
  let pending = cache.get(runtime);
  if (pending === undefined) {
    pending = (async () => {
      const runEntry = join(APP_DIR, 'run-entry.js');
      if (!existsSync(runEntry)) {
        throw new ModelportError('internal', `@modelport/edge is not built (no ${runEntry})`, {
          hint: 'run `npx tsc -b packages/edge`',
        });
      }
      const wasm = runtime === 'wasm';
      const [run, server, s3] = await Promise.all([
        bundleOne(runEntry, { wasm }),
        bundleOne(join(APP_DIR, 'serve-entry.js'), { wasm }),
        bundleOne(join(APP_DIR, 's3-storage.js'), { wasm }),
      ]);
      return { run, server, s3 };
    })();
    pending.catch(() => cache.delete(runtime));
    cache.set(runtime, pending);
  }
  return pending;
}
