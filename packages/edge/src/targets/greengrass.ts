import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelportError, type EdgeArtifact } from '@modelport/core';

import type { DeflateCache } from '../archive/deflate-cache.js';
import { writeZip } from '../archive/zip.js';
import type { AssembledBundle } from '../bundle/assemble.js';
import type { PlatformInfo } from '../platform.js';

/** spec.extensions.greengrass: where the component's artifacts are uploaded and how it is named. */
export interface GreengrassSettings {
  componentName?: string;
  publisher?: string;
  /** S3 bucket the ZIP is uploaded to (default: spec.extensions.aws.bucket). */
  bucket?: string;
  /** Key prefix in the bucket (default: none). */
  prefix?: string;
  /** Default port of the model server on the device. */
  port?: number;
}

export interface GreengrassRecipe {
  RecipeFormatVersion: '2020-01-25';
  ComponentName: string;
  ComponentVersion: string;
  ComponentDescription: string;
  ComponentPublisher: string;
  ComponentConfiguration: { DefaultConfiguration: Record<string, string | number> };
  Manifests: {
    Platform: { os: 'linux'; architecture: string };
    Lifecycle: { Setenv?: Record<string, string>; Run: { Script: string; RequiresPrivilege: boolean } };
    Artifacts: {
      Uri: string;
      Digest: string;
      Algorithm: 'SHA-256';
      Unarchive: 'ZIP';
      Permission: { Read: 'OWNER'; Execute: 'OWNER' };
    }[];
  }[];
}

/** Greengrass component names: letters, digits, '-', '_', '.' (recipe schema); reverse-DNS by custom. */
export function componentNameFor(name: string, settings: GreengrassSettings): string {
  const componentName = settings.componentName ?? `dev.modelport.${name}`;
  if (!/^[a-zA-Z0-9-_.]{1,128}$/.test(componentName)) {
    throw new ModelportError(
      'invalidInput',
      `spec.extensions.greengrass.componentName "${componentName}" is not a valid component name`,
      {
        hint: 'use letters, digits, "-", "_" and "." (e.g. com.example.IrisModel)',
      },
    );
  }
  return componentName;
}

/** Greengrass wants the artifact digest as base64 of the SHA-256 (not hex). */
export function greengrassDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

export interface GreengrassOutput {
  recipePath: string;
  recipe: GreengrassRecipe;
  artifacts: EdgeArtifact[];
}

/**
 * An AWS IoT Greengrass v2 component: per platform, the bundle as a ZIP (Greengrass unarchives only
 * ZIPs), and one JSON recipe with a manifest per platform (linux amd64 / aarch64) whose Run starts the
 * bundle's `run` (which verifies every file before serving). Laid out for a local deployment:
 *   greengrass-cli deployment create --recipeDir <out>/greengrass/recipes \
 *     --artifactDir <out>/greengrass/artifacts --merge "<ComponentName>=<version>"
 * For a cloud deployment, upload each ZIP to the Uri in the recipe and create the component version.
 */
export async function writeGreengrassComponent(options: {
  name: string;
  version: string;
  bundles: readonly { platform: PlatformInfo; bundle: AssembledBundle }[];
  outDir: string;
  cache: DeflateCache;
  settings: GreengrassSettings;
  /** spec.extensions.aws.bucket, the default bucket. */
  awsBucket: string | undefined;
  warn?: (message: string) => void;
}): Promise<GreengrassOutput> {
  const { name, version, settings } = options;
  const componentName = componentNameFor(name, settings);
  const bucket = settings.bucket ?? options.awsBucket;
  if (bucket === undefined) {
    options.warn?.(
      'spec.extensions.greengrass.bucket is not set: the recipe points at s3://REPLACE-WITH-YOUR-BUCKET (fine for a local deployment with greengrass-cli)',
    );
  }
  const prefix =
    settings.prefix === undefined || settings.prefix === '' ? '' : `${settings.prefix.replace(/\/+$/, '')}/`;
  const artifactDir = join(options.outDir, 'greengrass', 'artifacts', componentName, version);
  const recipeDir = join(options.outDir, 'greengrass', 'recipes');
  await mkdir(artifactDir, { recursive: true });
  await mkdir(recipeDir, { recursive: true });
  const artifacts: EdgeArtifact[] = [];
  const manifests: GreengrassRecipe['Manifests'] = [];
  for (const { platform, bundle } of options.bundles) {
    const zipName = `${name}-${platform.slug}${bundle.manifest.runtime === 'wasm' ? '-wasm' : ''}.zip`;
    const written = await writeZip(bundle.tree.files(), join(artifactDir, zipName), options.cache);
    artifacts.push({
      format: 'greengrass',
      platform: platform.platform,
      path: written.path,
      sha256: written.sha256,
      bytes: written.bytes,
    });
    // Greengrass unpacks a ZIP into {artifacts:decompressedPath}/<zip name without .zip>/.
    const home = `{artifacts:decompressedPath}/${zipName.slice(0, -'.zip'.length)}`;
    manifests.push({
      Platform: { os: 'linux', architecture: platform.greengrassArch },
      Lifecycle: {
        // An empty value means unset for `run`: the key is optional configuration.
        Setenv: { MODELPORT_PUBKEY: '{configuration:/PublicKeyPath}' },
        Run: {
          Script: `exec "${home}/bin/node" "${home}/run.mjs" --host {configuration:/Host} --port {configuration:/Port} --queue-port {configuration:/QueuePort} --state-dir "{work:path}/state"`,
          RequiresPrivilege: false,
        },
      },
      Artifacts: [
        {
          Uri: `s3://${bucket ?? 'REPLACE-WITH-YOUR-BUCKET'}/${prefix}${componentName}/${version}/${zipName}`,
          Digest: Buffer.from(written.sha256, 'hex').toString('base64'),
          Algorithm: 'SHA-256',
          Unarchive: 'ZIP',
          // Execute lets the component user run bin/node from the unarchived folder.
          Permission: { Read: 'OWNER', Execute: 'OWNER' },
        },
      ],
    });
  }
  const port = settings.port ?? 8080;
  const recipe: GreengrassRecipe = {
    RecipeFormatVersion: '2020-01-25',
    ComponentName: componentName,
    ComponentVersion: version,
    ComponentDescription: `${name}: ONNX model served offline by the modelport runtime (HTTP on Port; async queue on QueuePort)`,
    ComponentPublisher: settings.publisher ?? 'modelport',
    ComponentConfiguration: {
      DefaultConfiguration: { Host: '127.0.0.1', Port: port, QueuePort: port + 1, PublicKeyPath: '' },
    },
    Manifests: manifests,
  };
  const recipePath = join(recipeDir, `${componentName}-${version}.json`);
  const bytes = `${JSON.stringify(recipe, null, 2)}\n`;
  await writeFile(recipePath, bytes);
  artifacts.push({
    format: 'greengrass',
    path: recipePath,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: Buffer.byteLength(bytes),
  });
  return { recipePath, recipe, artifacts };
}

/**
 * Checks a recipe's artifacts as Greengrass will before installing: each ZIP present under
 * <artifactDir>/<ComponentName>/<ComponentVersion>/ with the Digest the recipe declares.
 */
export async function checkGreengrassArtifacts(recipePath: string, artifactDir: string): Promise<string[]> {
  const recipe = JSON.parse(await readFile(recipePath, 'utf8')) as GreengrassRecipe;
  const problems: string[] = [];
  for (const manifest of recipe.Manifests) {
    for (const artifact of manifest.Artifacts) {
      const file = join(
        artifactDir,
        recipe.ComponentName,
        recipe.ComponentVersion,
        artifact.Uri.slice(artifact.Uri.lastIndexOf('/') + 1),
      );
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch {
        problems.push(`missing artifact ${file}`);
        continue;
      }
      if (artifact.Algorithm !== 'SHA-256')
        problems.push(`${artifact.Uri}: algorithm ${artifact.Algorithm} is not SHA-256`);
      else if (greengrassDigest(bytes) !== artifact.Digest)
        problems.push(`${artifact.Uri}: the file does not match its Digest`);
    }
  }
  return problems;
}
