import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import type { KeyObject } from 'node:crypto';

import {
  isEdgePackage,
  ModelportError,
  type EdgeArtifact,
  type EdgePackageManifest,
  type LoadedEdgePackage,
  type LoadedManifest,
  type ProviderContext,
} from '@modelport/core';

import { DEFAULT_LEVEL, DeflateCache } from './archive/deflate-cache.js';
import { writeTarGz } from './archive/tar-gz.js';
import { assembleBundle, type AssembledBundle } from './bundle/assemble.js';
import { defaultCacheDir } from './cache-dir.js';
import { collectModelFiles, type ModelFiles } from './model/model-files.js';
import type { WrittenImage } from './oci/image-layout.js';
import { buildServingImage } from './oci/serving-image.js';
import { writeGreengrassComponent, type GreengrassSettings } from './targets/greengrass.js';
import { writeIotEdgeDeployment, type IotEdgeSettings } from './targets/iot-edge.js';
import { platformInfo, type Platform, type PlatformInfo } from './platform.js';
import { readPrivateKey } from './signing/keys.js';

export type EdgeFormat = 'tar.gz' | 'oci' | 'greengrass' | 'iot-edge';
export const EDGE_FORMATS: readonly EdgeFormat[] = ['tar.gz', 'oci', 'greengrass', 'iot-edge'];

export interface PackageOptions {
  /** Output folder. Default: spec.edge.output (relative to the manifest), else ./<name>-edge. */
  outDir?: string;
  /** ed25519 private key (PEM file). Default: spec.edge.signing.key. */
  signingKey?: string;
  /** Override spec.edge.formats / platforms / runtime. */
  formats?: readonly EdgeFormat[];
  platforms?: readonly Platform[];
  runtime?: 'native' | 'wasm';
  /** Cache of compressed contents and Debian packages; false for none (a cold build). */
  cacheDir?: string | false;
  /** Deflate level 1-9 (default 6). */
  compressionLevel?: number;
}

/** What the manifest and the options resolve to. */
export interface PackagePlan {
  name: string;
  version: string;
  formats: EdgeFormat[];
  platforms: PlatformInfo[];
  runtime: 'native' | 'wasm';
  outDir: string;
  signingKeyPath: string | undefined;
  cacheDir: string | undefined;
  compressionLevel: number;
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** The bundle version: metadata.labels.version when it is a semantic version, else 1.0.0. */
export function bundleVersion(manifest: EdgePackageManifest): string {
  const label = manifest.metadata.labels?.['version'];
  if (label === undefined) return '1.0.0';
  if (!SEMVER.test(label)) {
    throw new ModelportError('invalidInput', `metadata.labels.version "${label}" is not a semantic version`, {
      hint: 'use MAJOR.MINOR.PATCH, e.g. 1.2.0 (Greengrass component versions must be)',
    });
  }
  return label;
}

export function planPackage(loaded: LoadedEdgePackage, options: PackageOptions = {}): PackagePlan {
  const { manifest } = loaded;
  const edge = manifest.spec.edge ?? {};
  const relativeToManifest = (p: string): string => (isAbsolute(p) ? p : resolve(loaded.baseDir, p));
  const outDir =
    options.outDir !== undefined
      ? resolve(options.outDir)
      : edge.output !== undefined
        ? relativeToManifest(edge.output)
        : resolve(`${manifest.metadata.name}-edge`);
  const signing =
    options.signingKey ?? (edge.signing === undefined ? undefined : relativeToManifest(edge.signing.key));
  const level = options.compressionLevel ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new ModelportError('invalidInput', `compression level ${level} is not 1-9`);
  }
  const cacheDir = options.cacheDir === false ? undefined : (options.cacheDir ?? defaultCacheDir());
  return {
    name: manifest.metadata.name,
    version: bundleVersion(manifest),
    formats: [...new Set<EdgeFormat>(options.formats ?? edge.formats ?? ['tar.gz'])],
    platforms: [...new Set(options.platforms ?? edge.platforms ?? ['linux/amd64'])].map(platformInfo),
    runtime: options.runtime ?? edge.runtime ?? 'native',
    outDir,
    signingKeyPath: signing === undefined ? undefined : resolve(signing),
    cacheDir,
    compressionLevel: level,
  };
}

/** The local model file or folder of a manifest; remote models must be fetched first. */
export async function modelFilesOf(loaded: LoadedEdgePackage): Promise<ModelFiles> {
  const model = loaded.manifest.spec.model;
  if (model.format !== 'onnx') {
    throw new ModelportError(
      'capability',
      `edge bundles serve ONNX models; spec.model.format is ${model.format}`,
      {
        hint: 'export the model to ONNX (skl2onnx, torch.onnx.export, tf2onnx)',
      },
    );
  }
  if (model.uri === undefined)
    throw new ModelportError('invalidInput', 'spec.model.uri is required for an edge bundle');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(model.uri)) {
    throw new ModelportError(
      'capability',
      `edge bundles are built from a local model file; ${model.uri} is remote`,
      {
        hint: 'download the model next to the manifest and point spec.model.uri at it',
      },
    );
  }
  return collectModelFiles(isAbsolute(model.uri) ? model.uri : resolve(loaded.baseDir, model.uri));
}

export function artifactBaseName(plan: PackagePlan, platform: PlatformInfo): string {
  return `${plan.name}-${plan.version}-${platform.slug}${plan.runtime === 'wasm' ? '-wasm' : ''}`;
}

/** Builds the bundles of an EdgePackage manifest in every requested format and platform. */
export async function packageEdge(
  loaded: LoadedEdgePackage,
  options: PackageOptions = {},
  ctx?: Pick<ProviderContext, 'progress' | 'log'>,
): Promise<EdgeArtifact[]> {
  const plan = planPackage(loaded, options);
  const model = await modelFilesOf(loaded);
  const signingKey: KeyObject | undefined =
    plan.signingKeyPath === undefined ? undefined : await readPrivateKey(plan.signingKeyPath);
  const cache = new DeflateCache(plan.cacheDir, plan.compressionLevel);
  await mkdir(plan.outDir, { recursive: true });
  const spec = loaded.manifest.spec;
  const artifacts: EdgeArtifact[] = [];
  const images: { platform: PlatformInfo; image: WrittenImage }[] = [];
  const bundles: { platform: PlatformInfo; bundle: AssembledBundle }[] = [];
  for (const platform of plan.platforms) {
    ctx?.progress(`assembling the ${platform.platform} bundle`);
    const bundle: AssembledBundle = await assembleBundle({
      name: plan.name,
      version: plan.version,
      platform,
      runtime: plan.runtime,
      model,
      serve: {
        name: plan.name,
        ...(spec.model.signature === undefined ? {} : { signature: spec.model.signature }),
        ...(spec.limits?.payloadMB === undefined ? {} : { maxPayloadMB: spec.limits.payloadMB }),
        ...(spec.limits?.timeoutSeconds === undefined ? {} : { timeoutSeconds: spec.limits.timeoutSeconds }),
      },
      ...(signingKey === undefined ? {} : { signingKey }),
    });
    bundles.push({ platform, bundle });
    const base = artifactBaseName(plan, platform);
    if (plan.formats.includes('tar.gz')) {
      ctx?.progress(`writing ${base}.tar.gz`);
      const written = await writeTarGz(bundle.tree.list(), join(plan.outDir, `${base}.tar.gz`), {
        cache,
        ...(ctx === undefined ? {} : { onProgress: (m: string) => ctx.progress(m) }),
      });
      artifacts.push({
        format: 'tar.gz',
        platform: platform.platform,
        path: written.path,
        sha256: written.sha256,
        bytes: written.bytes,
      });
    }
    if (plan.formats.includes('oci') || plan.formats.includes('iot-edge')) {
      if (plan.cacheDir === undefined) {
        throw new ModelportError(
          'invalidInput',
          'the OCI image needs a cache folder for its Debian base packages',
          {
            hint: 'do not disable the cache (cacheDir: false) when building oci or iot-edge',
          },
        );
      }
      ctx?.progress(`building the ${platform.platform} serving image`);
      const image = await buildServingImage({
        bundle,
        platform,
        dir: join(plan.outDir, `${base}.oci`),
        tag: plan.version,
        cache,
        cacheDir: plan.cacheDir,
        ...(ctx === undefined ? {} : { onProgress: (m: string) => ctx.progress(m) }),
      });
      images.push({ platform, image });
      artifacts.push({
        format: 'oci',
        platform: platform.platform,
        path: image.dir,
        sha256: image.manifest.digest.slice('sha256:'.length),
        bytes: image.bytes,
      });
    }
  }
  const extensions = (spec.extensions ?? {}) as Record<string, unknown>;
  if (plan.formats.includes('greengrass')) {
    ctx?.progress('writing the Greengrass component');
    const aws = extensions['aws'] as { bucket?: string } | undefined;
    const component = await writeGreengrassComponent({
      name: plan.name,
      version: plan.version,
      bundles,
      outDir: plan.outDir,
      cache,
      settings: extensionSettings<GreengrassSettings>(extensions, 'greengrass', {
        componentName: 'string',
        publisher: 'string',
        bucket: 'string',
        prefix: 'string',
        port: 'number',
      }),
      awsBucket: aws?.bucket,
      ...(ctx === undefined ? {} : { warn: (m: string) => ctx.log('warn', m) }),
    });
    artifacts.push(...component.artifacts);
  }
  if (plan.formats.includes('iot-edge')) {
    artifacts.push(
      await writeIotEdgeDeployment({
        name: plan.name,
        version: plan.version,
        outDir: plan.outDir,
        settings: extensionSettings<IotEdgeSettings>(extensions, 'iot-edge', {
          image: 'string',
          moduleName: 'string',
          port: 'number',
          registryCredentials: 'object',
          edgeAgentImage: 'string',
          edgeHubImage: 'string',
        }),
      }),
    );
  }
  return artifacts;
}

/** Reads spec.extensions.<key>, checking the type of each known field and refusing unknown ones. */
function extensionSettings<T>(
  extensions: Record<string, unknown>,
  key: string,
  fields: Record<string, 'string' | 'number' | 'object'>,
): T {
  const value = extensions[key];
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null)
    throw new ModelportError('invalidInput', `spec.extensions.${key} must be an object`);
  for (const [field, fieldValue] of Object.entries(value)) {
    const expected = fields[field];
    if (expected === undefined) {
      throw new ModelportError(
        'invalidInput',
        `spec.extensions.${key}.${field} is not a setting of the ${key} format`,
        {
          hint: `known settings: ${Object.keys(fields).join(', ')}`,
        },
      );
    }
    if (typeof fieldValue !== expected || fieldValue === null) {
      throw new ModelportError('invalidInput', `spec.extensions.${key}.${field} must be a ${expected}`);
    }
  }
  return value as T;
}

/** Narrows a loaded manifest to an EdgePackage, or says what to do. */
export function asEdgePackage(loaded: LoadedManifest): LoadedEdgePackage {
  if (!isEdgePackage(loaded)) {
    throw new ModelportError(
      'invalidInput',
      `${loaded.manifest.kind} ${loaded.manifest.metadata.name} is not an EdgePackage`,
      {
        hint: 'modelport package builds manifests of kind: EdgePackage',
      },
    );
  }
  return loaded;
}
