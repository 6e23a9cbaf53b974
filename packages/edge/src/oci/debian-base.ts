import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { extract } from 'tar-stream';

import { ModelportError } from '@modelport/core';

import { FileTree } from '../archive/file-tree.js';
import { normaliseEntryPath } from '../archive/read-tar.js';
import type { PlatformInfo } from '../platform.js';

/**
 * What Node.js and onnxruntime need from an OS (`readelf -d` of both: libc, libm, libdl, libpthread,
 * librt, the dynamic loader, libstdc++, libgcc_s). No shell, no package manager: the image is these
 * three Debian packages, Node, the runtime and the model.
 */
export const BASE_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'] as const;

/** The user the image runs as (distroless' nonroot): nothing in the image needs root. */
export const IMAGE_UID = 65532;
/** Where the image keeps the queue's spool and results (MODELPORT_STATE_DIR). */
export const IMAGE_STATE_DIR = 'var/lib/modelport';

export interface DebianPackage {
  name: string;
  version: string;
  arch: string;
  file: string;
  sha256: string;
}

function runTool(
  command: string,
  args: readonly string[],
  cwd?: string,
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (error) =>
      reject(
        new ModelportError('unavailable', `cannot run ${command}: ${error.message}`, {
          hint: 'the OCI base image is built from Debian packages: this needs apt-get and dpkg-deb (a Debian or Ubuntu machine)',
          cause: error,
        }),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else
        reject(
          new ModelportError(
            'unavailable',
            `${command} ${args.join(' ')} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`,
          ),
        );
    });
  });
}

/**
 * apt-get with its own state under the cache folder: the host's dpkg database and sources are not
 * touched (no `dpkg --add-architecture`), and any architecture can be downloaded on any host.
 */
function aptOptions(stateDir: string, arch: string): string[] {
  return [
    '-o',
    `Dir::State::Lists=${join(stateDir, 'lists')}`,
    '-o',
    `Dir::Cache=${join(stateDir, 'cache')}`,
    '-o',
    'Dir::State::status=/dev/null',
    '-o',
    `APT::Architecture=${arch}`,
    '-o',
    `APT::Architectures::=${arch}`,
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Sandbox::User=root',
    '-qq',
  ];
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/**
 * The .deb files of the base packages for an architecture, downloaded once into the cache folder and
 * reused (by every later build: the base layer does not change until the cache is cleared).
 */
export async function debianPackages(
  cacheDir: string,
  platform: PlatformInfo,
  onProgress?: (m: string) => void,
): Promise<DebianPackage[]> {
  const dir = join(cacheDir, 'debian', platform.debianArch);
  const index = join(dir, 'packages.json');
  if (existsSync(index)) {
    const known = JSON.parse(await readFile(index, 'utf8')) as DebianPackage[];
    if (known.length === BASE_PACKAGES.length && known.every((p) => existsSync(join(dir, 'debs', p.file))))
      return known;
  }
  const state = join(dir, 'apt');
  const debs = join(dir, 'debs');
  await rm(debs, { recursive: true, force: true });
  for (const sub of [join(state, 'lists', 'partial'), join(state, 'cache', 'archives', 'partial'), debs])
    await mkdir(sub, { recursive: true });
  const options = aptOptions(state, platform.debianArch);
  onProgress?.(`downloading Debian package lists for ${platform.debianArch}`);
  await runTool('apt-get', [...options, 'update']);
  onProgress?.(`downloading ${BASE_PACKAGES.join(', ')} (${platform.debianArch})`);
  await runTool(
    'apt-get',
    [...options, 'download', ...BASE_PACKAGES.map((p) => `${p}:${platform.debianArch}`)],
    debs,
  );
  const packages: DebianPackage[] = [];
  for (const file of (await readdir(debs)).filter((f) => f.endsWith('.deb')).sort()) {
    const fields = (
      await runTool('dpkg-deb', [
        '--showformat=${Package}\t${Version}\t${Architecture}',
        '--show',
        join(debs, file),
      ])
    ).stdout
      .toString()
      .trim()
      .split('\t');
    packages.push({
      name: fields[0] ?? '',
      version: fields[1] ?? '',
      arch: fields[2] ?? '',
      file,
      sha256: await sha256File(join(debs, file)),
    });
  }
  const missing = BASE_PACKAGES.filter((name) => !packages.some((p) => p.name === name));
  if (missing.length > 0)
    throw new ModelportError(
      'unavailable',
      `apt-get did not download ${missing.join(', ')} for ${platform.debianArch}`,
    );
  await writeFile(index, `${JSON.stringify(packages, null, 2)}\n`);
  return packages;
}

// Not needed at run time: documentation (but the copyright files, which the licences require), man pages,
// translations, lintian overrides, iconv modules (Node has its own ICU), gdb helpers.
function keep(path: string): boolean {
  if (path.startsWith('usr/share/doc/'))
    return path.endsWith('/copyright') || !path.slice('usr/share/doc/'.length).includes('/');
  return !/^usr\/share\/(man|info|locale|lintian|gdb|gcc|bug)(\/|$)|^usr\/lib\/[^/]+\/gconv(\/|$)/.test(path);
}

/** Adds the files of one .deb (its data.tar, through dpkg-deb) to a tree. */
async function addDeb(tree: FileTree, debPath: string): Promise<void> {
  const { stdout } = await runTool('dpkg-deb', ['--fsys-tarfile', debPath]);
  const parser = extract();
  const done = (async () => {
    for await (const entry of parser) {
      const header = entry.header;
      const path = normaliseEntryPath(header.name);
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (path === undefined || !keep(path)) continue;
      if (header.type === 'directory') tree.addDirectory(path, header.mode & 0o7777);
      else if (header.type === 'symlink') tree.addSymlink(path, header.linkname ?? '');
      else if (header.type === 'file') tree.addBytes(path, Buffer.concat(chunks), header.mode & 0o7777);
      else if (header.type === 'link') {
        // A hard link: ship the content again (layers are compared by content, nothing lost).
        const target = tree.get(normaliseEntryPath(header.linkname ?? '') ?? '');
        if (target?.type !== 'file' || target.source.kind !== 'bytes')
          throw new Error(`${debPath}: cannot resolve hard link ${path}`);
        tree.addBytes(path, target.source.bytes, target.mode);
      } else throw new Error(`${debPath}: unexpected ${header.type} entry ${path}`);
    }
  })();
  parser.end(stdout);
  await done;
}

/**
 * The base layer of the serving image, from Debian packages of the target architecture: the shared
 * libraries Node and onnxruntime load, a passwd/group with the image user, and the empty folders a
 * container runtime mounts over (/proc, /sys, /dev) plus /tmp.
 */
export async function debianBaseTree(packages: readonly DebianPackage[], debsDir: string): Promise<FileTree> {
  const tree = new FileTree();
  for (const deb of packages) await addDeb(tree, join(debsDir, deb.file));
  for (const dir of ['proc', 'sys', 'dev', 'etc', 'root', 'var', 'var/lib']) tree.addDirectory(dir, 0o755);
  tree.addDirectory('tmp', 0o1777);
  // The queue's spool: owned by the image user, so that a volume mounted here (created from the image's
  // folder, owner included) is writable without running as root.
  tree.addDirectory(IMAGE_STATE_DIR, 0o700, { uid: IMAGE_UID, gid: IMAGE_UID });
  tree.addBytes(
    'etc/passwd',
    `root:x:0:0:root:/root:/sbin/nologin\nmodelport:x:${IMAGE_UID}:${IMAGE_UID}:modelport:/tmp:/sbin/nologin\n`,
  );
  tree.addBytes('etc/group', `root:x:0:\nmodelport:x:${IMAGE_UID}:\n`);
  tree.addBytes(
    'etc/modelport-base.txt',
    `Debian packages in this image layer:\n${packages.map((p) => `${p.name} ${p.version} ${p.arch} sha256:${p.sha256}`).join('\n')}\n`,
  );
  return tree;
}

export function debsDirOf(cacheDir: string, platform: PlatformInfo): string {
  return join(cacheDir, 'debian', platform.debianArch, 'debs');
}
