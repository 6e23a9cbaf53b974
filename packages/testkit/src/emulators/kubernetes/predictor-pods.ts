// The predictor pods of the fake API server: for an InferenceService whose predictor is a custom container
// (the modelport serving image), every new generation (a Knative revision) gets a pod run the way KServe and
// the kubelet run it: the image pulled from the cluster's registry, the storage-initializer step filling
// /mnt/models from STORAGE_URI, then the kserve-container with the spec's command, args and env, probed
// before the InferenceService turns Ready. Nothing here scores a model: the image does.
//
// Stand-ins (a host process has no pod network, no kubelet):
// - Port: the container's port (ports[0].containerPort, 8080 when none: KServe's default) is mapped to a free
//   loopback port, given to the container as MODELPORT_PORT (the serving image's documented port variable)
//   and as PORT (what Knative sets to the container port, runtime contract); a MODELPORT_PORT in the spec
//   that names another port is mapped to another free port, so a container listening elsewhere is never
//   probed successfully. Probes use the mapped port; status.url is the InferenceService's ingress (ingress.ts),
//   which forwards to the ready revisions' mapped ports by their traffic share.
// - Timing: probes run every `probeIntervalMs` (KServe's default probe: every 10 s, 1 s timeout); a pod that
//   never passes its probe fails after `progressDeadlineMs` (the Deployment/Knative progress deadline is 600 s).
// - An unknown image fails at once with ImagePullBackOff (the kubelet reports ErrImagePull first, then backs off).
// - A container that exits is not restarted (the kubelet restarts it into CrashLoopBackOff): the revision fails
//   with the container's last log lines, as Knative's "Container failed with: …" does.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  httpStatus,
  logTail,
  startContainer,
  type ImageRegistry,
  type RunningContainer,
} from '../shared/containers.js';
import { Ingress, type Route } from './ingress.js';
import { initializeStorage, type ModelStorage } from './storage.js';

/** What the InferenceService status is derived from, per generation. */
export type PodState =
  | { phase: 'pending'; reason: string }
  | { phase: 'ready'; url: string }
  | { phase: 'failed'; reason: string; message: string; exitCode?: number };

export interface PredictorPodOptions {
  /** The cluster's registry: the images a pod can pull, by reference. */
  images: ImageRegistry;
  /** Where the storage initializer reads STORAGE_URI from. */
  storage?: ModelStorage;
  /** Folder for the pods' files (default: a temp folder, removed on stop). */
  workDir?: string;
  /** How long a pod may take to pass its readiness probe (default 120 s). */
  progressDeadlineMs?: number;
  /** Between two probes (default 100 ms). */
  probeIntervalMs?: number;
}

interface EnvVar {
  name: string;
  value?: string;
}

interface ProbeSpec {
  httpGet?: { path?: string; port?: number | string };
  tcpSocket?: { port?: number | string };
  timeoutSeconds?: number;
}

interface ContainerSpecK8s {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { containerPort?: number; name?: string }[];
  readinessProbe?: ProbeSpec;
}

interface Pod {
  generation: number;
  /** predictor.canaryTrafficPercent of this generation's spec. */
  canaryPercent: number | undefined;
  /** predictor.timeout (seconds) of this generation's spec. */
  timeoutSeconds: number | undefined;
  /** The pod's own address, once ready. */
  target?: string;
  state: PodState;
  container?: RunningContainer;
  stopped: boolean;
}

/** KServe's name for the model server container (constants.InferenceServiceContainerName). */
export const KSERVE_CONTAINER = 'kserve-container';
/** Where the storage initializer puts the model (constants.DefaultModelLocalMountPath). */
export const MODEL_MOUNT = '/mnt/models';
const DEFAULT_PORT = 8080;

/**
 * The custom predictor container of an InferenceService: the one named kserve-container, or the only one
 * (KServe's CustomPredictor.Default names a single container kserve-container). Undefined for a predictor
 * served by a ServingRuntime (`predictor.model`), which this fake does not run.
 */
export function customContainer(spec: unknown): ContainerSpecK8s | undefined {
  const containers = (spec as { predictor?: { containers?: ContainerSpecK8s[] } } | undefined)?.predictor
    ?.containers;
  if (!Array.isArray(containers) || containers.length === 0) return undefined;
  return (
    containers.find((c) => c.name === KSERVE_CONTAINER) ??
    (containers.length === 1 ? containers[0] : undefined)
  );
}

export class PredictorPods {
  private readonly pods = new Map<string, Pod[]>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly ingresses = new Map<string, Ingress>();
  private root: string | undefined;

  constructor(private readonly options: PredictorPodOptions) {}

  /** The state of `key`'s pod for `generation`; undefined when no pod runs it (not a custom container). */
  stateOf(key: string, generation: number): PodState | undefined {
    return this.pods.get(key)?.find((p) => p.generation === generation)?.state;
  }

  /** Containers still running (for "nothing left" assertions). */
  running(): RunningContainer[] {
    return [...this.pods.values()]
      .flat()
      .map((p) => p.container)
      .filter((c): c is RunningContainer => c !== undefined && c.exit() === undefined);
  }

  /** After a write: a new generation of a custom predictor gets a new pod (the old ones retire once it is ready). */
  reconcile(key: string, object: { metadata: Record<string, unknown>; spec?: unknown }): void {
    const generation = Number(object.metadata['generation'] ?? 1);
    const container = customContainer(object.spec);
    const pods = this.pods.get(key) ?? [];
    if (container === undefined) {
      this.retire(key, () => true);
      return;
    }
    if (pods.some((p) => p.generation === generation)) return;
    const predictor = (object.spec as { predictor?: { canaryTrafficPercent?: unknown; timeout?: unknown } })
      .predictor;
    const pod: Pod = {
      generation,
      canaryPercent:
        typeof predictor?.canaryTrafficPercent === 'number' ? predictor.canaryTrafficPercent : undefined,
      timeoutSeconds: typeof predictor?.timeout === 'number' ? predictor.timeout : undefined,
      state: { phase: 'pending', reason: 'PodInitializing' },
      stopped: false,
    };
    this.pods.set(key, [...pods, pod]);
    this.track(this.run(key, pod, container));
  }

  /** The InferenceService was deleted: its pods terminate. */
  remove(key: string): void {
    this.retire(key, () => true);
    this.pods.delete(key);
    const ingress = this.ingresses.get(key);
    this.ingresses.delete(key);
    if (ingress !== undefined) this.track(ingress.stop());
  }

  /** Requests the InferenceService's ingress sent to each revision (by revision name). */
  traffic(key: string): Map<string, number> {
    return new Map(this.ingresses.get(key)?.served ?? []);
  }

  /** Waits for every start and stop in flight. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async stop(): Promise<void> {
    for (const key of [...this.pods.keys()]) this.remove(key);
    await this.idle();
    if (this.root !== undefined && this.options.workDir === undefined) {
      await rm(this.root, { recursive: true, force: true });
    }
    this.root = undefined;
  }

  private track(work: Promise<unknown>): void {
    const done = work.catch(() => undefined).finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  private retire(key: string, which: (pod: Pod) => boolean): void {
    for (const pod of this.pods.get(key) ?? []) {
      if (!which(pod) || pod.stopped) continue;
      pod.stopped = true;
      if (pod.container !== undefined) this.track(pod.container.stop(2_000));
    }
    this.pods.set(
      key,
      (this.pods.get(key) ?? []).filter((p) => !p.stopped),
    );
  }

  private async workDir(): Promise<string> {
    if (this.root === undefined) {
      this.root = this.options.workDir ?? (await mkdtemp(join(tmpdir(), 'modelport-kube-pods-')));
    }
    return this.root;
  }

  private async run(key: string, pod: Pod, spec: ContainerSpecK8s): Promise<void> {
    const fail = (reason: string, message: string, exitCode?: number): void => {
      pod.state = { phase: 'failed', reason, message, ...(exitCode === undefined ? {} : { exitCode }) };
    };
    const reference = spec.image ?? '';
    const image = this.options.images.get(reference);
    if (image === undefined) {
      // The kubelet's message for a pull that keeps failing (kubernetes.io/docs/concepts/containers/images).
      return fail('ImagePullBackOff', `Back-off pulling image "${reference}"`);
    }
    const podDir = join(await this.workDir(), `${key.replace('/', '_')}-${pod.generation}`);
    await mkdir(podDir, { recursive: true });

    const env: Record<string, string> = {};
    for (const variable of spec.env ?? []) {
      // valueFrom (secrets, field refs) is not modelled: such a variable is absent, as an unresolved ref would be.
      if (typeof variable.value === 'string') env[variable.name] = variable.value;
    }
    const mounts: Record<string, string> = {};
    const storageUri = env['STORAGE_URI'];
    if (storageUri !== undefined) {
      pod.state = { phase: 'pending', reason: 'PodInitializing' };
      const storage = await initializeStorage(storageUri, this.options.storage, podDir);
      if (!storage.ok) return fail('RevisionFailed', `storage-initializer: ${storage.message}`, 1);
      mounts[MODEL_MOUNT] = storage.mount;
    }
    if (pod.stopped) return;

    const containerPort = spec.ports?.[0]?.containerPort ?? DEFAULT_PORT;
    const hostPort = await freePort();
    const given = env['MODELPORT_PORT'];
    env['MODELPORT_PORT'] =
      given === undefined || given === String(containerPort) ? String(hostPort) : String(await freePort());
    env['PORT'] = String(hostPort);

    pod.state = { phase: 'pending', reason: 'ContainerCreating' };
    const container = await startContainer({
      image,
      name: `${key}-${pod.generation}`,
      workDir: join(podDir, KSERVE_CONTAINER),
      ...(spec.command === undefined ? {} : { command: spec.command }),
      ...(spec.args === undefined ? {} : { args: spec.args }),
      env,
      mounts,
    });
    pod.container = container;
    if (pod.stopped) {
      await container.stop(2_000);
      return;
    }
    const probe = this.probe(spec, containerPort, hostPort);
    const deadline = Date.now() + (this.options.progressDeadlineMs ?? 120_000);
    for (;;) {
      if (pod.stopped) return;
      const exit = container.exit();
      if (exit !== undefined) {
        return fail(
          'RevisionFailed',
          `Container failed with: ${logTail(container, 10)} (${exit.signal ?? `exit code ${String(exit.code)}`})`,
          exit.code ?? 137,
        );
      }
      if (await probe.check()) break;
      if (Date.now() >= deadline) {
        return fail(
          'ProgressDeadlineExceeded',
          `the ${KSERVE_CONTAINER} did not pass its readiness probe (${probe.description}) within ${this.options.progressDeadlineMs ?? 120_000} ms; last log lines: ${logTail(container, 10)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.probeIntervalMs ?? 100));
    }
    pod.target = `http://127.0.0.1:${hostPort}`;
    // The new revision serves: older ones retire, except the last ready one while a canary splits traffic.
    const lastReady = (this.pods.get(key) ?? [])
      .filter((p) => p !== pod && p.state.phase === 'ready')
      .sort((a, b) => b.generation - a.generation)[0];
    const canary = pod.canaryPercent;
    const keep = canary !== undefined && canary < 100 ? lastReady : undefined;
    this.retire(key, (p) => p !== pod && p !== keep);
    const name = key.slice(key.indexOf('/') + 1);
    const routes: Route[] = [
      { revision: revisionName(name, pod.generation), target: pod.target, percent: 100 },
    ];
    if (keep?.target !== undefined && canary !== undefined) {
      routes[0] = { ...routes[0]!, percent: canary };
      routes.push({
        revision: revisionName(name, keep.generation),
        target: keep.target,
        percent: 100 - canary,
      });
    }
    const ingress = await this.ingressOf(key);
    if (pod.stopped) return;
    ingress.route(routes, pod.timeoutSeconds);
    pod.state = { phase: 'ready', url: ingress.url };
    void container.exited.then((exit) => {
      if (!pod.stopped) {
        fail('RevisionFailed', `Container failed with: ${logTail(container, 10)}`, exit.code ?? 137);
      }
    });
  }

  private async ingressOf(key: string): Promise<Ingress> {
    let ingress = this.ingresses.get(key);
    if (ingress === undefined) {
      ingress = new Ingress();
      this.ingresses.set(key, ingress);
    }
    await ingress.start();
    return ingress;
  }

  /**
   * The readiness probe the kubelet runs: the container's own, else KServe's default for the model server
   * container (a TCP check of ports[0].containerPort, else 8080: deployment_reconciler.go setDefaultPodSpec;
   * Knative's default readiness probe is a TCP check of the user port too).
   */
  private probe(
    spec: ContainerSpecK8s,
    containerPort: number,
    hostPort: number,
  ): { description: string; check(): Promise<boolean> } {
    const mapped = (port: number | string | undefined): number | undefined => {
      if (port === undefined) return hostPort;
      const number =
        typeof port === 'number' ? port : spec.ports?.find((p) => p.name === port)?.containerPort;
      return number === containerPort ? hostPort : undefined;
    };
    const timeoutMs = (spec.readinessProbe?.timeoutSeconds ?? 1) * 1000;
    const http = spec.readinessProbe?.httpGet;
    if (http !== undefined) {
      const path = http.path ?? '/';
      const port = mapped(http.port);
      return {
        description: `GET ${path} on port ${String(http.port ?? containerPort)}`,
        // Kubernetes: any status from 200 to 399 passes.
        check: async () => {
          if (port === undefined) return false;
          const status = await httpStatus(`http://127.0.0.1:${port}${path}`, timeoutMs);
          return status !== undefined && status >= 200 && status < 400;
        },
      };
    }
    const tcp = spec.readinessProbe?.tcpSocket?.port ?? containerPort;
    const port = mapped(tcp);
    return {
      description: `TCP ${String(tcp)}`,
      check: () => (port === undefined ? Promise.resolve(false) : tcpOpen(port, timeoutMs)),
    };
  }
}

/** Knative's revision names, as the store reports them: <isvc>-predictor-00001. */
export function revisionName(name: string, generation: number): string {
  return `${name}-predictor-${String(generation).padStart(5, '0')}`;
}

function tcpOpen(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
