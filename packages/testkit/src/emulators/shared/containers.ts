// How every emulator runs a "model container": the image's own entrypoint and arguments, its own
// environment plus the platform's, and the platform's files, as a host process. There is no Docker engine
// on these machines and no chroot: the container's mount namespace is modelled by rebasing the absolute
// paths the container is handed (in its arguments and environment) onto per-container folders, and its
// network namespace by a free loopback port given through the platform's port variable. So an image that
// ignores the model the platform gives it, listens on the wrong port, or never exits in a batch job fails
// here as it would on the cloud. An image may not hard-code a platform path: such a path is not rebased.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join, posix } from 'node:path';

/** The `config` of an OCI image config (image-spec config.md): what `docker run` starts. */
export interface ImageRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  /** `NAME=value` pairs. */
  Env?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, unknown>;
  /** Folders a container writes to: each container gets its own (as Docker's anonymous volumes). */
  Volumes?: Record<string, unknown>;
}

/** An image as a platform pulled it: its filesystem unpacked in `rootfs`, and its run configuration. */
export interface ContainerImage {
  /** The manifest media type the image was pushed with (SageMaker refuses OCI ones). */
  manifestMediaType: string;
  rootfs: string;
  config: ImageRunConfig;
}

/**
 * The images "pushed" to an emulated registry (ECR, ACR, Artifact Registry, a cluster's registry), by
 * reference. A platform that cannot find a reference fails the way it does when a pull fails.
 */
export class ImageRegistry {
  private readonly images = new Map<string, ContainerImage>();

  push(reference: string, image: ContainerImage): this {
    this.images.set(reference, image);
    return this;
  }

  get(reference: string): ContainerImage | undefined {
    return this.images.get(reference);
  }

  references(): string[] {
    return [...this.images.keys()];
  }
}

/**
 * Reads an image unpacked as a folder: `image.json` (`{manifestMediaType, config}`) beside `rootfs/`, the
 * layout `@modelport/edge`'s test image writer produces.
 */
export async function readImageFolder(dir: string): Promise<ContainerImage> {
  const meta = JSON.parse(await readFile(join(dir, 'image.json'), 'utf8')) as {
    manifestMediaType: string;
    config: ImageRunConfig;
  };
  return { manifestMediaType: meta.manifestMediaType, rootfs: join(dir, 'rootfs'), config: meta.config };
}

export interface ContainerSpec {
  image: ContainerImage;
  /** A name for logs and folders. */
  name: string;
  /** Folder of this container's writable layer, mounts and log. */
  workDir: string;
  /** Replaces the image's Entrypoint (Kubernetes `command`). */
  command?: readonly string[];
  /** Replaces the image's Cmd (`docker run IMAGE ARGS…`, Kubernetes `args`). */
  args?: readonly string[];
  /** What the platform sets, added to (and overriding) the image's Env. */
  env?: Readonly<Record<string, string>>;
  /** Container path → host folder or file: what the platform mounts (/opt/ml/model, /mnt/models…). */
  mounts?: Readonly<Record<string, string>>;
}

export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningContainer {
  readonly name: string;
  readonly pid: number;
  /** Everything the container printed so far (stdout and stderr, interleaved). */
  logs(): string;
  readonly logFile: string;
  /** Undefined while it runs. */
  exit(): ContainerExit | undefined;
  readonly exited: Promise<ContainerExit>;
  /** SIGTERM, then SIGKILL after `graceMs` (what the platforms do on scale-in or delete). */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<RunningContainer>();
let exitHookInstalled = false;

/** A free TCP port on 127.0.0.1 (the emulators' stand-in for a container's own network namespace). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function envPairs(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const cut = pair.indexOf('=');
    if (cut > 0) out[pair.slice(0, cut)] = pair.slice(cut + 1);
  }
  return out;
}

/**
 * Maps container paths to host paths the way the container's mounts would: the longest mount point that
 * contains the path, else the image's filesystem where it has the path's top folder. Anything else (a
 * route such as /health, a host tool such as /usr/bin) is left as it is.
 */
export class PathRebaser {
  private readonly mountPoints: [string, string][];

  constructor(
    private readonly rootfs: string,
    mounts: Readonly<Record<string, string>>,
  ) {
    this.mountPoints = Object.entries(mounts)
      .map(([at, host]): [string, string] => [posix.normalize(at).replace(/\/$/, ''), host])
      .sort((a, b) => b[0].length - a[0].length);
  }

  /** The host path of an absolute container path, or undefined when it is neither mounted nor in the image. */
  path(containerPath: string): string | undefined {
    const normal = posix.normalize(containerPath);
    for (const [at, host] of this.mountPoints) {
      if (normal === at) return host;
      if (normal.startsWith(`${at}/`)) return join(host, normal.slice(at.length + 1));
    }
    const top = normal.split('/')[1] ?? '';
    if (top !== '' && existsSync(join(this.rootfs, top))) return join(this.rootfs, normal);
    return undefined;
  }

  /** An argument or variable value: rebased when it is a mounted or image path, else as it is. */
  value(value: string): string {
    return /^\/[^\s:]*$/.test(value) ? (this.path(value) ?? value) : value;
  }

  /** PATH: the image's folders rebased, then the host's (which stand in for the image's base layer). */
  searchPath(value: string | undefined): string {
    const host = process.env['PATH'] ?? '/usr/bin:/bin';
    const own = (value ?? '')
      .split(':')
      .filter((p) => p.startsWith('/'))
      .map((p) => this.path(p))
      .filter((p): p is string => p?.startsWith(this.rootfs) === true);
    return [...own, host].join(':');
  }
}

/**
 * Starts a container of `spec.image` as a host process: Entrypoint + Cmd (or the overrides), the image's
 * Env then the platform's, paths rebased, the working folder of the image. Listening is the container's
 * business: the platform tells it its port (SAGEMAKER_BIND_TO_PORT, AIP_HTTP_PORT…). MODELPORT_HOST is
 * pinned to 127.0.0.1: test servers listen on loopback only (a container's 0.0.0.0 is its own namespace).
 */
export async function startContainer(spec: ContainerSpec): Promise<RunningContainer> {
  const { config } = spec.image;
  const mounts: Record<string, string> = {};
  for (const [i, at] of Object.keys(config.Volumes ?? {}).entries()) {
    mounts[at] = join(spec.workDir, `volume-${i}`);
    await mkdir(mounts[at], { recursive: true });
  }
  Object.assign(mounts, spec.mounts ?? {});
  const paths = new PathRebaser(spec.image.rootfs, mounts);
  const scratch = join(spec.workDir, 'scratch');
  await mkdir(scratch, { recursive: true });
  const entry = [...(spec.command ?? config.Entrypoint ?? [])];
  const args = [...(spec.args ?? (spec.command === undefined ? (config.Cmd ?? []) : []))];
  const argv = [...entry, ...args].map((a) => paths.value(a));
  const [file, ...rest] = argv;
  if (file === undefined) throw new Error(`the image of ${spec.name} has no entrypoint and no command`);

  const merged = { ...envPairs(config.Env), ...(spec.env ?? {}) };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) {
    env[name] = name === 'PATH' ? paths.searchPath(value) : paths.value(value);
  }
  env['PATH'] ??= paths.searchPath(undefined);
  env['MODELPORT_HOST'] = '127.0.0.1';
  // A container's /tmp is its own.
  env['TMPDIR'] = scratch;
  const cwd = (config.WorkingDir === undefined ? undefined : paths.path(config.WorkingDir)) ?? scratch;

  const logFile = join(spec.workDir, 'container.log');
  const log = createWriteStream(logFile);
  let text = '';
  const child: ChildProcess = spawn(file, rest, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer): void => {
    log.write(chunk);
    // Enough of the tail for a failure message; the whole log is in the file.
    text = (text + chunk.toString('utf8')).slice(-256 * 1024);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exit: ContainerExit | undefined;
  const exited = new Promise<ContainerExit>((resolve) => {
    child.once('error', (error) => {
      collect(Buffer.from(`cannot start ${file}: ${error.message}\n`));
      exit = { code: 127, signal: null };
      resolve(exit);
    });
    child.once('close', (code, signal) => {
      exit = { code, signal };
      log.end();
      resolve(exit);
    });
  });

  const container: RunningContainer = {
    name: spec.name,
    pid: child.pid ?? -1,
    logFile,
    logs: () => text,
    exit: () => exit,
    exited,
    async stop(graceMs = 5_000) {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(container);
  void exited.then(() => running.delete(container));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test process that ends without stopping its emulator must not leave model servers behind.
    process.once('exit', () => {
      for (const c of running) if (c.pid > 0) process.kill(c.pid, 'SIGKILL');
    });
  }
  return container;
}

/** Every container still running in this process (for an emulator's stop()). */
export async function stopContainers(containers: Iterable<RunningContainer>, graceMs = 2_000): Promise<void> {
  await Promise.all([...containers].map((c) => c.stop(graceMs)));
}

/** The status of one GET, or undefined when nothing answered. */
export function httpStatus(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

export interface HealthWait {
  /** Full URL of the platform's health check (e.g. http://127.0.0.1:PORT/ping). */
  url: string;
  /** How long the platform waits before it gives up on the container. */
  timeoutMs: number;
  intervalMs?: number;
}

/**
 * Polls a container's health route until it answers 200, as the platforms do before they send traffic.
 * Resolves with 'healthy', or with why not: the container exited (with its code) or the time ran out.
 */
export async function waitHealthy(
  container: RunningContainer,
  wait: HealthWait,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const deadline = Date.now() + wait.timeoutMs;
  let last: number | undefined;
  for (;;) {
    const exit = container.exit();
    if (exit !== undefined) {
      return {
        ok: false,
        reason: `the container exited (${exit.signal ?? `code ${String(exit.code)}`}) before ${wait.url} answered 200`,
      };
    }
    last = await httpStatus(wait.url);
    if (last === 200) return { ok: true };
    if (Date.now() >= deadline) {
      return {
        ok: false,
        reason: `${wait.url} did not answer 200 within ${wait.timeoutMs} ms (last: ${last === undefined ? 'no answer' : `HTTP ${last}`})`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, wait.intervalMs ?? 50));
  }
}

/** The last `lines` lines of a container's output (for the failure messages platforms show). */
export function logTail(container: RunningContainer, lines = 20): string {
  return container.logs().trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * The portable serving image the tests run (built by the root vitest global setup, scripts/test-serving-image.mjs,
 * with a decoy model baked in), read from MODELPORT_TEST_SERVING_IMAGE.
 */
export async function testServingImage(): Promise<ContainerImage> {
  const dir = process.env['MODELPORT_TEST_SERVING_IMAGE'];
  if (dir === undefined || dir === '') {
    throw new Error(
      'MODELPORT_TEST_SERVING_IMAGE is not set: run the tests with vitest from the repository root (its global setup builds the serving image), or set it to the output of `node scripts/test-serving-image.mjs`',
    );
  }
  return readImageFolder(dir);
}

/** The same image with its run configuration changed (a deliberately broken image, in tests). */
export function imageVariant(image: ContainerImage, changes: Partial<ImageRunConfig>): ContainerImage {
  return { ...image, config: { ...image.config, ...changes } };
}
