// The user containers of emulated managed online deployments: the environment version's image, started the
// way Azure ML starts a custom container, probed on its inferenceConfig routes, and sent the scoring
// requests. Sources of each rule are given beside it.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ArmResource } from './azure-emulator.js';
import { isoDurationMs } from './arm-http.js';
import type { BlobRest } from './blob-rest.js';
import type { ContainerImage, ContainerSpec, ImageRegistry, RunningContainer } from '../shared/containers.js';
import { freePort, httpStatus, logTail, startContainer } from '../shared/containers.js';

/** Where the model of a deployment is mounted when `modelMountPath` is not set:
 * "By default, a model registered with the name foo and version 1 would be located at the following path
 * inside of your deployed container: /var/azureml-app/azureml-models/foo/1"
 * (https://learn.microsoft.com/azure/machine-learning/how-to-deploy-custom-container#locating-the-mounted-model). */
export const MODEL_MOUNT_ROOT = '/var/azureml-app/azureml-models';

/**
 * ProbeSettings defaults of managed online deployments (livenessProbe and readinessProbe alike):
 * initial_delay 10 s, period 10 s, timeout 2 s, success_threshold 1, failure_threshold 30
 * (https://learn.microsoft.com/azure/machine-learning/reference-yaml-deployment-managed-online#probesettings;
 * "Readiness probe validates if the container is ready to serve traffic. The properties and defaults are the
 * same as liveness probe", OnlineDeploymentProperties.readinessProbe of the REST API models). The ARM schema
 * of 2022-10-01 (ProbeSettings) declares the five fields without defaults.
 */
export const PROBE_DEFAULTS = {
  initialDelayMs: 10_000,
  periodMs: 10_000,
  timeoutMs: 2_000,
  successThreshold: 1,
  failureThreshold: 30,
} as const;

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** The probe settings of a deployment, with the service's defaults, times multiplied by `scale`. */
export function probeTiming(settings: unknown, scale: number): ProbeTiming {
  const p = (settings ?? {}) as Record<string, unknown>;
  const ms = (value: unknown, fallback: number) =>
    Math.max(1, Math.round(isoDurationMs(value as string | undefined, fallback) * scale));
  return {
    initialDelayMs: ms(p['initialDelay'], PROBE_DEFAULTS.initialDelayMs),
    periodMs: ms(p['period'], PROBE_DEFAULTS.periodMs),
    // The per-probe HTTP timeout is not scaled below 2 s: a loaded test machine answers slowly.
    timeoutMs: Math.max(isoDurationMs(p['timeout'] as string | undefined, PROBE_DEFAULTS.timeoutMs), 2_000),
    successThreshold: Number(p['successThreshold'] ?? PROBE_DEFAULTS.successThreshold),
    failureThreshold: Number(p['failureThreshold'] ?? PROBE_DEFAULTS.failureThreshold),
  };
}

interface Route {
  path: string;
  port: number;
}

/** One running user container of a deployment. */
export interface InferenceContainer {
  /** The current process (a new one after each restart). */
  container: RunningContainer;
  /** How it was started, as the platform set it (container paths, before the stand-in's rebasing). */
  spec: ContainerSpec;
  readiness: Route;
  liveness: Route;
  /** Times the container was restarted after it exited or failed its liveness probe. */
  restarts: number;
  stopped: boolean;
  /** What makes the container (a PUT that changes none of it keeps the running one). */
  identity: string;
  /** Container port → loopback port (the stand-in of the container's own network namespace). */
  ports: Map<number, number>;
  scoring: Route;
  dir: string;
}

/** What `provision` resolves to: the running container, or why the deployment failed (`Code: message`). */
export type Provisioned = { ok: true; container: InferenceContainer } | { ok: false; reason: string };

export interface InferenceContainerOptions {
  images: ImageRegistry;
  blobs: () => BlobRest;
  /** Resolves a stored resource by ARM id. */
  resource: (id: string) => ArmResource | undefined;
  /** Datastore location of an azureml:// URI. */
  datastorePath: (uri: string) => { container: string; path: string } | undefined;
  workDir: () => string;
  /** Multiplies the probe delays and periods (1 = Azure's timing). */
  probeScale: () => number;
}

/**
 * Starts and keeps the user container of each online deployment. What Azure ML does, and the emulator
 * does here:
 * - pulls the environment version's `image` (a reference missing from the registry fails the deployment
 *   as "BadArgument: Unable to download user container image",
 *   https://learn.microsoft.com/azure/machine-learning/how-to-troubleshoot-online-endpoints#unable-to-download-user-container-image);
 * - mounts the registered model version's files (read from the workspace datastore) at
 *   `modelMountPath`, else /var/azureml-app/azureml-models/<model>/<version>, and sets AZUREML_MODEL_DIR
 *   to that folder ("AZUREML_MODEL_DIR is an environment variable created during deployment. It is the path
 *   to the model folder (./azureml-models/$MODEL_NAME/$VERSION)", azureml-examples
 *   cli/endpoints/online/model-1/onlinescoring/score.py; how-to-deploy-custom-container). A model
 *   registered from a file is that file in the folder; one registered from a folder keeps the folder's
 *   name inside it (the half_plus_two example of how-to-deploy-custom-container). A model that cannot be
 *   read fails as "BadArgument: Unable to download user model" (how-to-troubleshoot-online-endpoints);
 * - passes the deployment's `environmentVariables`;
 * - runs the image's own Entrypoint/Cmd: a custom container deployment has no code configuration, and
 *   "you can use any containers that will stay up and respond to requests coming to liveness, readiness,
 *   and scoring routes" (how-to-deploy-custom-container, "Base image");
 * - probes readinessRoute and livenessRoute on their declared ports with the deployment's ProbeSettings;
 *   a container that exits, or is not ready after initialDelay + failureThreshold × period, fails the
 *   deployment as ResourceNotReady ("Readiness or liveness probes aren't set up correctly", "Container
 *   initialization takes too long", how-to-troubleshoot-online-endpoints#error-resourcenotready), with the
 *   container's last log lines (what `get-logs` shows);
 * - sends scoring requests to scoringRoute.
 *
 * Stand-ins (there is no container runtime here): one container per deployment whatever its instance
 * count; and ports. In Azure the container has its own network and listens on its own port; the routes'
 * ports must be the one it listens on. Here every container shares the host's loopback, so the container's
 * port (the deployment's MODELPORT_PORT if it sets one, else the one port the image declares in
 * ExposedPorts, else the scoring route's port) is mapped to a free loopback port, handed to the container
 * as MODELPORT_PORT (the portable image's documented port variable). A route that declares another port
 * reaches a loopback port nothing listens on, as it would reach a closed port in the container; an image
 * that ignores MODELPORT_PORT listens elsewhere and is never ready.
 */
export class InferenceContainers {
  private readonly running = new Map<string, InferenceContainer>();
  private readonly logs = new Map<string, string>();

  constructor(private readonly options: InferenceContainerOptions) {}

  /** The running container of a deployment (by lower-cased ARM id). */
  get(deploymentId: string): InferenceContainer | undefined {
    return this.running.get(deploymentId.toLowerCase());
  }

  /** The last log lines of a deployment's container (running or the last one that failed). */
  logTail(deploymentId: string, lines = 100): string {
    const live = this.get(deploymentId);
    if (live !== undefined) return logTail(live.container, lines);
    return (this.logs.get(deploymentId.toLowerCase()) ?? '').split('\n').slice(-lines).join('\n');
  }

  /** URL of a container port as the emulator reaches it, or undefined when nothing is mapped to it. */
  url(container: InferenceContainer, route: Route): string | undefined {
    const port = container.ports.get(route.port);
    return port === undefined ? undefined : `http://127.0.0.1:${port}${route.path}`;
  }

  /**
   * Makes the deployment's container run its current properties: keeps the running one when nothing that
   * makes it changed, else starts a new one, probes it, and (once it is ready) stops the old one.
   */
  async provision(deployment: ArmResource): Promise<Provisioned> {
    const key = deployment.id.toLowerCase();
    const props = deployment.body['properties'] as Record<string, unknown>;
    const environment = this.options.resource(String(props['environmentId'] ?? ''));
    const envProps = (environment?.body['properties'] ?? {}) as Record<string, unknown>;
    const identity = JSON.stringify([
      props['model'],
      props['environmentId'],
      props['environmentVariables'],
      props['modelMountPath'],
      props['readinessProbe'],
      props['livenessProbe'],
    ]);
    const current = this.running.get(key);
    if (current !== undefined && current.identity === identity && current.container.exit() === undefined) {
      return { ok: true, container: current };
    }
    const reference = String(envProps['image'] ?? '');
    const image = reference === '' ? undefined : this.options.images.get(reference);
    if (image === undefined) {
      return {
        ok: false,
        reason: `BadArgument: Unable to download user container image ${reference || '(none)'}: the image was not found in the registry.`,
      };
    }
    const config = (envProps['inferenceConfig'] ?? {}) as Record<string, Route | undefined>;
    const scoring = config['scoringRoute'];
    const readiness = config['readinessRoute'] ?? config['livenessRoute'];
    const liveness = config['livenessRoute'] ?? config['readinessRoute'];
    if (scoring === undefined || readiness === undefined || liveness === undefined) {
      // "Inference config is required if you want to run your own container with managed online endpoint."
      return {
        ok: false,
        reason: `BadArgument: the environment ${String(props['environmentId'])} has no inferenceConfig with liveness, readiness and scoring routes, required to run a custom container.`,
      };
    }
    const dir = join(this.options.workDir(), 'deployments', `${deployment.name}-${Date.now().toString(36)}`);
    const mount = await this.mountModel(props, join(dir, 'model'));
    if (!mount.ok) return mount;

    const userEnv = (props['environmentVariables'] ?? {}) as Record<string, string>;
    const containerPort = listeningPort(image, userEnv, scoring.port);
    const hostPort = await freePort();
    const ports = new Map<number, number>([[containerPort, hostPort]]);
    for (const route of [scoring, readiness, liveness]) {
      // A declared port the container does not listen on: a loopback port nothing listens on.
      if (!ports.has(route.port)) ports.set(route.port, await freePort());
    }
    const spec: ContainerSpec = {
      image,
      name: deployment.name,
      workDir: dir,
      env: { ...userEnv, AZUREML_MODEL_DIR: mount.at, MODELPORT_PORT: String(hostPort) },
      mounts: { [mount.at]: mount.host },
    };
    const container = await startContainer(spec);
    const started: InferenceContainer = {
      container,
      spec,
      readiness,
      liveness,
      restarts: 0,
      stopped: false,
      identity,
      ports,
      scoring,
      dir,
    };
    const ready = await this.probe(
      started,
      readiness,
      liveness,
      probeTiming(props['readinessProbe'], this.options.probeScale()),
    );
    if (!ready.ok) {
      await container.stop(1_000);
      this.logs.set(key, container.logs());
      return {
        ok: false,
        reason: `ResourceNotReady: ${ready.reason}. Container logs (last lines):\n${logTail(container, 20)}`,
      };
    }
    this.running.set(key, started);
    if (current !== undefined) await this.retire(current);
    void this.watch(started, probeTiming(props['livenessProbe'], this.options.probeScale()));
    return { ok: true, container: started };
  }

  /** Stops a deployment's container (the deployment was deleted or failed). */
  async stop(deploymentId: string): Promise<void> {
    const key = deploymentId.toLowerCase();
    const current = this.running.get(key);
    if (current === undefined) return;
    this.running.delete(key);
    this.logs.set(key, current.container.logs());
    await this.retire(current);
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((c) => this.retire(c)));
  }

  private async retire(c: InferenceContainer): Promise<void> {
    c.stopped = true;
    await c.container.stop(2_000);
    await rm(c.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /**
   * Liveness once the deployment is up: one GET of livenessRoute per period; after failureThreshold failures
   * in a row, or when the process exits, the container is restarted (the Kubernetes liveness and restart
   * behaviour that how-to-deploy-custom-container points to: "A liveness route is used to check whether the
   * server is running"), with the same image, environment and model mount, and probed for readiness again.
   * [guess] the restart has no back-off here.
   */
  private async watch(c: InferenceContainer, timing: ProbeTiming): Promise<void> {
    let failures = 0;
    while (!c.stopped) {
      await new Promise((resolve) => setTimeout(resolve, timing.periodMs));
      if (c.stopped) return;
      const exited = c.container.exit() !== undefined;
      const live = exited ? undefined : await httpStatus(this.url(c, c.liveness) ?? '', timing.timeoutMs);
      failures = live === 200 ? 0 : failures + 1;
      if (!exited && failures < timing.failureThreshold) continue;
      if (c.stopped) return;
      failures = 0;
      c.restarts++;
      await c.container.stop(1_000);
      c.container = await startContainer({ ...c.spec, workDir: join(c.dir, `restart-${c.restarts}`) });
      // Retired while it restarted: the new process goes too.
      if (c.stopped) {
        await c.container.stop(1_000);
        return;
      }
      await this.probe(c, c.readiness, c.liveness, { ...timing, initialDelayMs: 0 });
    }
  }

  /**
   * Readiness as Azure probes it: after initialDelay, one GET per period with the probe timeout; ready at
   * successThreshold 200s in a row (with the liveness route answering 200), failed at failureThreshold
   * failures, or at once when the container exits (a crash-looping container never becomes ready).
   */
  private async probe(
    c: InferenceContainer,
    readiness: Route,
    liveness: Route,
    timing: ProbeTiming,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    const readyUrl = this.url(c, readiness) ?? '';
    const liveUrl = this.url(c, liveness) ?? '';
    const exited = (): string | undefined => {
      const exit = c.container.exit();
      return exit === undefined
        ? undefined
        : `User container has crashed or terminated (${exit.signal ?? `exit code ${String(exit.code)}`})`;
    };
    if (await sleepUnlessExited(c.container, timing.initialDelayMs))
      return { ok: false, reason: exited() ?? '' };
    let failures = 0;
    let successes = 0;
    let last: number | undefined;
    for (;;) {
      const crash = exited();
      if (crash !== undefined) return { ok: false, reason: crash };
      last = await httpStatus(readyUrl, timing.timeoutMs);
      const live = last === 200 ? await httpStatus(liveUrl, timing.timeoutMs) : undefined;
      if (last === 200 && live === 200) {
        successes++;
        if (successes >= timing.successThreshold) return { ok: true };
      } else {
        successes = 0;
        failures++;
        if (failures >= timing.failureThreshold) {
          const what =
            last === 200
              ? `liveness probe GET ${liveness.path} on port ${liveness.port} answered ${live === undefined ? 'nothing' : `HTTP ${live}`}`
              : `readiness probe GET ${readiness.path} on port ${readiness.port} answered ${last === undefined ? 'nothing' : `HTTP ${last}`}`;
          return {
            ok: false,
            reason: `the container was not ready after ${failures} probes (failureThreshold ${timing.failureThreshold}, period ${timing.periodMs} ms): the ${what}`,
          };
        }
      }
      if (await sleepUnlessExited(c.container, timing.periodMs)) continue;
    }
  }

  /** Copies the model version's files from the datastore into the folder mounted in the container. */
  private async mountModel(
    props: Record<string, unknown>,
    host: string,
  ): Promise<{ ok: true; at: string; host: string } | { ok: false; reason: string }> {
    const modelId = String(props['model'] ?? '');
    const model = this.options.resource(modelId);
    const match = /\/models\/([^/]+)\/versions\/([^/]+)$/i.exec(modelId);
    const uri = String(
      (model?.body['properties'] as Record<string, unknown> | undefined)?.['modelUri'] ?? '',
    );
    const location = this.options.datastorePath(uri);
    const fail = (why: string) => ({
      ok: false as const,
      reason: `BadArgument: Unable to download user model ${modelId}: ${why}`,
    });
    if (model === undefined || match === null) return fail('the model version does not exist');
    if (location === undefined)
      return fail(`the emulator reads models from the workspace datastore only (got ${uri || 'none'})`);
    const mountPath = props['modelMountPath'];
    const at =
      typeof mountPath === 'string' && mountPath !== ''
        ? posix.normalize(mountPath)
        : `${MODEL_MOUNT_ROOT}/${decodeURIComponent(match[1] ?? '')}/${decodeURIComponent(match[2] ?? '')}`;
    const blobs = this.options.blobs();
    const file = await blobs.get(location.container, location.path);
    await mkdir(host, { recursive: true });
    if (file !== undefined) {
      await writeFile(join(host, posix.basename(location.path)), file);
      return { ok: true, at, host };
    }
    const prefix = location.path.replace(/\/?$/, '/');
    const names = (await blobs.list(location.container, prefix)).filter((n) => !n.endsWith('/'));
    if (names.length === 0) return fail(`no blob at ${uri}`);
    const folder = posix.basename(prefix.slice(0, -1));
    for (const name of names) {
      const data = await blobs.get(location.container, name);
      if (data === undefined) return fail(`the blob ${name} is gone`);
      const target = join(host, folder, ...name.slice(prefix.length).split('/'));
      await mkdir(join(target, '..'), { recursive: true });
      await writeFile(target, data);
    }
    return { ok: true, at, host };
  }
}

/** The port the container listens on inside its own network (see the class comment). */
function listeningPort(image: ContainerImage, userEnv: Record<string, string>, fallback: number): number {
  const own = Number(userEnv['MODELPORT_PORT']);
  if (Number.isInteger(own) && own > 0) return own;
  const exposed = Object.keys(image.config.ExposedPorts ?? {})
    .filter((p) => !p.endsWith('/udp'))
    .map((p) => Number(p.split('/')[0]));
  return exposed.length === 1 && Number.isInteger(exposed[0]) ? (exposed[0] as number) : fallback;
}

/** Waits `ms`; resolves true early when the container exits. */
async function sleepUnlessExited(container: RunningContainer, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([slept, container.exited.then(() => true)]);
  clearTimeout(timer);
  return result;
}
