import { injectable } from '@modelport/core/di';

import type { EdgeArtifact, EdgePackager, LoadedManifest, ProviderContext } from '@modelport/core';

import { asEdgePackage, packageEdge, type PackageOptions } from './packager.js';

/** The EdgePackager port: builds every format and platform an EdgePackage manifest asks for. */
@injectable()
export class EdgeBundlePackager implements EdgePackager {
  package(
    manifest: LoadedManifest,
    options: { outDir: string; signingKey?: string } & Omit<PackageOptions, 'outDir' | 'signingKey'>,
    ctx: ProviderContext,
  ): Promise<EdgeArtifact[]> {
    return packageEdge(asEdgePackage(manifest), options, ctx);
  }
}
