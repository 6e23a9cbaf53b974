// The portable serving image unpacked as a folder: its files where the image has them (rootfs/) and its run
// configuration (image.json), without the Debian base layer (the host's libraries stand in for it). This is
// what the test emulators run as a platform's "model container" when building and unpacking the OCI
// layout would be too slow for a unit test: the same entrypoint, the same bundle, the same config.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { assembleBundle } from './bundle/assemble.js';
import { collectModelFiles } from './model/model-files.js';
import { IMAGE_STATE_DIR } from './oci/debian-base.js';
import { OCI_MANIFEST } from './oci/media-types.js';
import { IMAGE_BUNDLE_DIR, servingImageConfig } from './oci/serving-image.js';
import { platformInfo, type Platform } from './platform.js';

export interface ImageFolderOptions {
  /** The model baked into the image (an .onnx file or a model folder). */
  model: string;
  name: string;
  version: string;
  /** Where the folder goes; left as it is when it already holds a finished image. */
  dir: string;
  signature?: unknown;
  platform?: Platform;
  /** The manifest media type the folder says the image was pushed with (default OCI). */
  manifestMediaType?: string;
}

/** Writes the serving image folder (atomically: a half-written one is never left at `dir`). */
export async function writeServingImageFolder(options: ImageFolderOptions): Promise<string> {
  if (existsSync(join(options.dir, 'image.json'))) return options.dir;
  const platform = platformInfo(options.platform ?? 'linux/amd64');
  const bundle = await assembleBundle({
    name: options.name,
    version: options.version,
    platform,
    runtime: 'native',
    model: await collectModelFiles(options.model),
    serve: {
      name: options.name,
      ...(options.signature === undefined ? {} : { signature: options.signature }),
    },
  });
  const partial = `${options.dir}.partial-${randomBytes(4).toString('hex')}`;
  try {
    const root = join(partial, 'rootfs');
    await mkdir(join(root, IMAGE_STATE_DIR), { recursive: true });
    for (const entry of bundle.tree.list()) {
      const target = join(root, IMAGE_BUNDLE_DIR, entry.path);
      if (entry.type === 'directory') {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      if (entry.type === 'symlink') throw new Error(`the serving image has a symlink (${entry.path})`);
      if (entry.source.kind === 'file') await copyFile(entry.source.path, target);
      else await writeFile(target, entry.source.bytes);
      await chmod(target, entry.mode);
    }
    const image = {
      manifestMediaType: options.manifestMediaType ?? OCI_MANIFEST,
      config: servingImageConfig(bundle, platform).config,
    };
    await writeFile(join(partial, 'image.json'), `${JSON.stringify(image, null, 2)}\n`);
    await mkdir(dirname(options.dir), { recursive: true });
    await rename(partial, options.dir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // Another process finished the same folder first: theirs is as good as ours.
    if (existsSync(join(options.dir, 'image.json'))) return options.dir;
    throw error;
  }
  return options.dir;
}
