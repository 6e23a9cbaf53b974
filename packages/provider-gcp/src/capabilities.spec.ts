// `modelport validate` reads the capabilities without loading any Google SDK.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('capabilities module', () => {
  it('imports nothing but core and its own data modules', () => {
    for (const file of [
      'capabilities.ts',
      'machine-types.ts',
      'regions.ts',
      'module.ts',
      'gcp-provider.ts',
      'client-factory.ts',
    ]) {
      const source = readFileSync(new URL(file, import.meta.url), 'utf8');
      // Value imports only (type imports are erased): no Google package is loaded at import time.
      const imports = [...source.matchAll(/^import (?!type)[^;]*from '([^']+)'/gm)].map((m) => m[1]);
      expect(
        imports.filter(
          (i) => i?.startsWith('@google-cloud') || i?.startsWith('google-') || i?.startsWith('@grpc'),
        ),
        file,
      ).toEqual([]);
    }
  });
});
