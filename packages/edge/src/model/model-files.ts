import { lstat, open, readdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { ModelportError } from '@modelport/core';

import { externalDataLocations } from './onnx-external-data.js';

/** The files of a model, all inside one folder. */
export interface ModelFiles {
  /** The model folder (a real path): nothing outside it is shipped. */
  folder: string;
  /** The ONNX file, relative to the folder, '/'-separated. */
  main: string;
  /** Every file to ship, relative to the folder ('/'-separated, sorted), with where it is. */
  files: { relative: string; absolute: string }[];
}

const ONNX_MAGIC_LIMIT = 64 * 1024 * 1024 * 1024;

function refuse(message: string, hint: string, details: Record<string, unknown> = {}): ModelportError {
  return new ModelportError('invalidInput', message, { hint, details });
}

function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function toArchivePath(rel: string): string {
  return rel.split(sep).join('/');
}

async function readWhole(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Collects a model for packaging. `path` is an .onnx file (its folder is the model folder) or a model
 * folder holding exactly one .onnx file at its top. Refused: symlinks anywhere (the bundle would ship
 * whatever they point at on the build machine), anything but regular files and folders, and external
 * data locations of the ONNX file that leave the model folder.
 */
export async function collectModelFiles(path: string, what = 'spec.model.uri'): Promise<ModelFiles> {
  const given = resolve(path);
  let info;
  try {
    info = await lstat(given);
  } catch {
    throw new ModelportError('notFound', `the model ${path} does not exist`, {
      hint: `check ${what}: a path relative to the manifest`,
    });
  }
  if (info.isSymbolicLink()) {
    throw refuse(
      `the model ${path} is a symlink: refusing to package it`,
      `point ${what} at the real file or folder`,
    );
  }
  // The folder itself may sit under symlinked parents (/tmp on macOS): compare real paths from here on.
  const folder = await realpath(info.isDirectory() ? given : dirname(given));
  const files = new Map<string, string>();
  let main: string;
  if (info.isDirectory()) {
    await walk(folder, folder, files);
    const onnx = [...files.keys()].filter((f) => !f.includes('/') && f.endsWith('.onnx'));
    if (onnx.length !== 1) {
      throw refuse(
        `the model folder ${path} has ${onnx.length === 0 ? 'no' : onnx.length} .onnx files at its top; it needs exactly one`,
        onnx.length === 0 ? `point ${what} at the .onnx file` : `point ${what} at one of: ${onnx.join(', ')}`,
      );
    }
    main = onnx[0] as string;
  } else if (info.isFile()) {
    main = basename(given);
    files.set(main, join(folder, main));
  } else {
    throw refuse(`the model ${path} is not a regular file`, `point ${what} at an .onnx file`);
  }

  const mainPath = files.get(main) as string;
  const { size } = await lstat(mainPath);
  if (size > ONNX_MAGIC_LIMIT)
    throw refuse(`the model ${path} is larger than 64 GiB`, 'split it into external data files');
  let locations: string[];
  try {
    locations = externalDataLocations(await readWhole(mainPath));
  } catch (error) {
    throw refuse(
      `${mainPath} is not an ONNX model (${(error as Error).message})`,
      `point ${what} at an .onnx file`,
    );
  }
  for (const location of locations) {
    const target = resolve(folder, dirname(main), location);
    if (isAbsolute(location) || !isInside(folder, target)) {
      throw refuse(
        `the model refers to external data outside its folder: ${JSON.stringify(location)}`,
        'keep external data files next to the model (onnx.save(..., location="weights.bin"))',
        { location },
      );
    }
    let targetInfo;
    try {
      targetInfo = await lstat(target);
    } catch {
      throw refuse(`the model's external data file ${location} is missing`, 'put it next to the model');
    }
    if (targetInfo.isSymbolicLink() || !targetInfo.isFile()) {
      throw refuse(
        `the model's external data ${location} is not a regular file (symlink?)`,
        'copy the real file next to the model',
      );
    }
    // resolve() already removed '..': one more realpath guards against a symlinked folder on the way.
    if (!isInside(folder, await realpath(target))) {
      throw refuse(
        `the model's external data ${location} resolves outside the model folder`,
        'copy the file into the model folder',
      );
    }
    files.set(toArchivePath(relative(folder, target)), target);
  }
  return {
    folder,
    main,
    files: [...files.entries()]
      .map(([rel, absolute]) => ({ relative: rel, absolute }))
      .sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0)),
  };
}

async function walk(root: string, folder: string, out: Map<string, string>): Promise<void> {
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const full = join(folder, entry.name);
    const rel = toArchivePath(relative(root, full));
    if (entry.isSymbolicLink()) {
      throw refuse(
        `the model folder holds a symlink, ${rel}: refusing to package it`,
        'replace it with the file it points at, or remove it',
      );
    }
    if (entry.isDirectory()) await walk(root, full, out);
    else if (entry.isFile()) out.set(rel, full);
    else throw refuse(`the model folder holds ${rel}, which is not a regular file`, 'remove it');
  }
}
