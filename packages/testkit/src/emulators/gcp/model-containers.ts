// Vertex AI's model containers, run the way Vertex runs a custom container: the image the Model was uploaded
// with (ingested at UploadModel), containerSpec.command/args/env over the image's own, the AIP_* variables,
// a copy of the artifacts in Cloud Storage named by AIP_STORAGE_URI (nothing is mounted), the TCP liveness
// probe that restarts a container whose port does not open, health checks on the health route before any
// traffic, and `{instances, parameters}` POSTed to the predict route. Every rule is declared with its source
// in VERTEX_CONTAINER_RULES.
import { createConnection } from 'node:net';
import { join } from 'node:path';
import {
  freePort,
  httpStatus,
  logTail,
  startContainer,
  type ContainerImage,
  type RunningContainer,
} from '../shared/containers.js';
import { postToModel } from '../shared/model-servers.js';
import type { GcsFake } from './gcs-fake.js';

const REQUIREMENTS = 'https://cloud.google.com/vertex-ai/docs/predictions/custom-container-requirements';
const MODEL_PROTO = '@google-cloud/aiplatform build/protos/google/cloud/aiplatform/v1/model.proto';

/** What the emulator enforces about model containers, and where each rule comes from. */
export const VERTEX_CONTAINER_RULES: readonly {
  rule: string;
  source: string;
  status: 'verified' | 'guess';
}[] = [
  {
    rule: 'The container image is taken (ingested) at UploadModel; a reference the registry does not hold fails the upload',
    source: `${MODEL_PROTO} (ModelContainerSpec.image_uri: "ingested upon ModelService.UploadModel, stored internally, and this original path is afterwards not used"); the error text is a guess`,
    status: 'verified',
  },
  {
    rule: "containerSpec.command replaces the image's ENTRYPOINT (and drops its CMD), containerSpec.args replaces its CMD; $(VAR) in them and in env values expands Vertex's variables and earlier env entries, $$ escapes, unknown references stay as written",
    source: `${MODEL_PROTO} (ModelContainerSpec.command, args, env); ${REQUIREMENTS}#server`,
    status: 'verified',
  },
  {
    rule: 'AIP_HTTP_PORT is the first containerSpec.ports entry (default 8080); the emulator gives a free loopback port instead (a container has its own network namespace on Vertex), and probes and requests go there',
    source: `${MODEL_PROTO} (ModelContainerSpec.ports); ${REQUIREMENTS}#aip-variables`,
    status: 'verified',
  },
  {
    rule: 'AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE are containerSpec.healthRoute/predictRoute, by default /v1/endpoints/ENDPOINT/deployedModels/DEPLOYED_MODEL:predict (as the proto says, for both)',
    source: `${MODEL_PROTO} (predict_route, health_route)`,
    status: 'verified',
  },
  {
    rule: 'AIP_STORAGE_URI names a copy of artifactUri made by Vertex in a bucket it manages (nothing is mounted); AIP_DEPLOYED_MODEL_ID, AIP_ENDPOINT_ID, AIP_PROJECT_NUMBER, AIP_MODEL_NAME, AIP_MACHINE_TYPE, AIP_MODE=PREDICTION, AIP_MODE_VERSION=1.0.0, AIP_FRAMEWORK=CUSTOM_CONTAINER are set',
    source: `${REQUIREMENTS}#aip-variables; the managed bucket's name (vertex-ai-managed-<project>) is a guess`,
    status: 'verified',
  },
  {
    rule: 'The TCP liveness probe makes up to 4 attempts to connect to the port, waiting 10 s after each failure, then restarts the container (scaled in tests by livenessIntervalMs)',
    source: `${REQUIREMENTS}#liveness`,
    status: 'verified',
  },
  {
    rule: 'A serving container that exits is restarted (with a doubling back-off, as Kubernetes restarts a crashing container); predictions fail with UNAVAILABLE until the new one is healthy',
    source: `${REQUIREMENTS}#liveness (restart on a failed probe); the back-off and the UNAVAILABLE status are guesses`,
    status: 'guess',
  },
  {
    rule: 'Without a startup probe, health checks (GET on the health route) start at once; the container gets traffic only once it answers 200',
    source: `${REQUIREMENTS}#health`,
    status: 'verified',
  },
  {
    rule: 'A deployment whose container never becomes healthy within the deployment timeout fails with "Model server never became ready. Please validate that your model file or container configuration are valid."',
    source: `${MODEL_PROTO} (deployment_timeout, limit 2 h); the message is quoted from Vertex's public error reports; the emulator's default timeout (120 s) is a guess`,
    status: 'guess',
  },
  {
    rule: "Predict forwards the request body to the predict route as a POST and returns the container's response in the API response; a non-2xx answer fails the call (400/413 → INVALID_ARGUMENT, else INTERNAL, the container's body in the message)",
    source: `${MODEL_PROTO} (predict_route: "Vertex AI then returns the container's response"); the status mapping is a guess`,
    status: 'guess',
  },
  {
    rule: 'STORAGE_EMULATOR_HOST, GCE_METADATA_HOST and MODELPORT_GCS_ENDPOINT point the container at the fake GCS: the stand-in for the network path to storage.googleapis.com and the metadata server a container has on Vertex',
    source: 'emulator only (no Vertex counterpart)',
    status: 'guess',
  },
];

/** How fast the emulated Vertex probes and gives up (real values by default). */
export interface VertexContainerTiming {
  /** TCP liveness attempts before a restart (Vertex: 4). */
  livenessAttempts?: number;
  /** Wait after a failed liveness attempt (Vertex: 10 s). */
  livenessIntervalMs?: number;
  /** How long a deployment (or a batch job's container start) may take before it fails. */
  deploymentTimeoutMs?: number;
  /** Time between two health checks while waiting for 200. */
  healthIntervalMs?: number;
  /** Wait before the first restart, doubled after each (Kubernetes' CrashLoopBackOff: 10 s, up to 5 min). */
  restartBackoffMs?: number;
}

/** Why a model container could not serve (the emulator fails the deploy or the batch job with it). */
export class ContainerError extends Error {}

/** The image, command, routes and environment of a Model's container (what UploadModel stored). */
export interface ModelContainerSource {
  image: ContainerImage;
  imageUri: string;
  command: readonly string[];
  args: readonly string[];
  env: readonly { name: string; value: string }[];
  predictRoute: string;
  healthRoute: string;
  artifactUri: string;
  modelId: string;
}

/** Where a container runs: the deployed model (or batch replica), its endpoint, project and machine. */
export interface ContainerPlacement {
  deployedModelId: string;
  endpointId?: string;
  project: string;
  machineType: string;
  acceleratorType?: string;
}

/** A model container that passed its liveness probe and answered 200 on its health route. */
export interface ServingContainer {
  readonly container: RunningContainer;
  readonly port: number;
  readonly predictRoute: string;
  readonly healthRoute: string;
  /** Times the liveness probe restarted it before it became live. */
  readonly restarts: number;
  /** The environment Vertex gave it (AIP_* and env), for tests. */
  readonly env: Readonly<Record<string, string>>;
}

/** An answer of a container's predict route. */
export interface ContainerReply {
  status: number;
  body: unknown;
}

const PROJECT_NUMBER = '123456789012';

/** Expands $(VAR) from `vars` as Kubernetes and Vertex do: $$ is a literal $, unknown references stay. */
export function expandVariables(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(/\$(\$|\(([A-Za-z_][A-Za-z0-9_]*)\))/g, (whole, inner: string, name?: string) => {
    if (inner === '$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? (vars[name] as string) : whole;
  });
}

/** One TCP connect to 127.0.0.1:port: true when something accepted it. */
export function tcpOpen(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The model containers of an emulated Vertex AI: started per deployed model (and per batch prediction
 * replica), stopped on undeploy, at the end of a job and when the emulator stops.
 */
export class VertexContainers {
  private readonly live = new Set<RunningContainer>();
  private readonly timing: Required<VertexContainerTiming>;
  private copies = 0;
  private stopped = false;

  constructor(
    private readonly gcs: GcsFake,
    private readonly gcsUrl: () => string,
    private readonly workDir: string,
    timing: VertexContainerTiming = {},
  ) {
    this.timing = {
      livenessAttempts: timing.livenessAttempts ?? 4,
      livenessIntervalMs: timing.livenessIntervalMs ?? 10_000,
      deploymentTimeoutMs: timing.deploymentTimeoutMs ?? 120_000,
      healthIntervalMs: timing.healthIntervalMs ?? 100,
      restartBackoffMs: timing.restartBackoffMs ?? 10_000,
    };
  }

  /**
   * Copies the artifacts to a managed location, starts the container and waits until it is live and
   * healthy, restarting it when the liveness probe gives up; fails after the deployment timeout.
   */
  async start(source: ModelContainerSource, placement: ContainerPlacement): Promise<ServingContainer> {
    const storageUri = source.artifactUri === '' ? undefined : this.copyArtifacts(source, placement);
    const defaultRoute =
      placement.endpointId === undefined
        ? undefined
        : `/v1/endpoints/${placement.endpointId}/deployedModels/${placement.deployedModelId}:predict`;
    const predictRoute = source.predictRoute || defaultRoute || '/predict';
    const healthRoute = source.healthRoute || defaultRoute || '/health';
    const deadline = Date.now() + this.timing.deploymentTimeoutMs;
    let restarts = 0;
    for (;;) {
      if (this.stopped) throw new ContainerError('the emulator is stopping');
      const port = await freePort();
      const vertex: Record<string, string> = {
        AIP_HTTP_PORT: String(port),
        AIP_HEALTH_ROUTE: healthRoute,
        AIP_PREDICT_ROUTE: predictRoute,
        ...(storageUri === undefined ? {} : { AIP_STORAGE_URI: storageUri }),
        AIP_DEPLOYED_MODEL_ID: placement.deployedModelId,
        ...(placement.endpointId === undefined ? {} : { AIP_ENDPOINT_ID: placement.endpointId }),
        AIP_PROJECT_NUMBER: PROJECT_NUMBER,
        AIP_MODEL_NAME: source.modelId,
        AIP_MACHINE_TYPE: placement.machineType,
        ...(placement.acceleratorType === undefined
          ? {}
          : { AIP_ACCELERATOR_TYPE: placement.acceleratorType }),
        AIP_FRAMEWORK: 'CUSTOM_CONTAINER',
        AIP_MODE: 'PREDICTION',
        AIP_MODE_VERSION: '1.0.0',
      };
      // env entries may reference Vertex's variables and earlier entries; Vertex's own win.
      const env: Record<string, string> = {};
      for (const { name, value } of source.env) env[name] = expandVariables(value, { ...vertex, ...env });
      Object.assign(env, vertex, {
        // The network path to Cloud Storage and the metadata server (emulator only).
        STORAGE_EMULATOR_HOST: this.gcsUrl(),
        GCE_METADATA_HOST: this.gcsUrl().replace(/^https?:\/\//, ''),
        MODELPORT_GCS_ENDPOINT: this.gcsUrl(),
      });
      const expand = (list: readonly string[]) => list.map((a) => expandVariables(a, env));
      const name = `vertex-${placement.deployedModelId}-${restarts}`;
      const container = await startContainer({
        image: source.image,
        name,
        workDir: join(this.workDir, name),
        ...(source.command.length > 0 ? { command: expand(source.command) } : {}),
        ...(source.args.length > 0 ? { args: expand(source.args) } : {}),
        env,
      });
      this.live.add(container);
      void container.exited.then(() => this.live.delete(container));
      const outcome = await this.probe(container, port, healthRoute, deadline);
      if (outcome === 'healthy')
        return { container, port, predictRoute, healthRoute, restarts, env: { ...env } };
      const last = `${outcome} Container logs:\n${logTail(container)}`;
      await container.stop(2_000);
      if (Date.now() >= deadline || outcome.startsWith('health')) {
        throw new ContainerError(
          `Model server never became ready. Please validate that your model file or container configuration are valid. ` +
            `(${restarts} restart(s); ${last})`,
        );
      }
      // Restarted containers back off, as Kubernetes restarts a crashing one.
      await sleep(
        Math.min(this.timing.restartBackoffMs * 2 ** restarts, 300_000, Math.max(0, deadline - Date.now())),
      );
      restarts++;
    }
  }

  /**
   * The liveness probe (up to `livenessAttempts` TCP connects, `livenessIntervalMs` after each failure),
   * then health checks until 200. Returns 'healthy', or why the container is restarted or given up on.
   */
  private async probe(
    container: RunningContainer,
    port: number,
    healthRoute: string,
    deadline: number,
  ): Promise<string> {
    let live = false;
    for (let attempt = 1; attempt <= this.timing.livenessAttempts; attempt++) {
      if (container.exit() !== undefined) return `the container exited (${describeExit(container)}).`;
      if (await tcpOpen(port)) {
        live = true;
        break;
      }
      if (Date.now() >= deadline) break;
      if (attempt < this.timing.livenessAttempts) await sleep(this.timing.livenessIntervalMs);
    }
    if (!live) {
      return `the liveness probe could not connect to port ${port} in ${this.timing.livenessAttempts} attempts; the container is restarted.`;
    }
    let status: number | undefined;
    while (Date.now() < deadline) {
      if (container.exit() !== undefined) return `the container exited (${describeExit(container)}).`;
      status = await httpStatus(`http://127.0.0.1:${port}${healthRoute}`);
      if (status === 200) return 'healthy';
      await sleep(this.timing.healthIntervalMs);
    }
    return `health checks on ${healthRoute} never answered 200 within the deployment timeout (last: ${status === undefined ? 'no answer' : `HTTP ${status}`}).`;
  }

  /** Vertex copies artifactUri to storage it manages and names the copy in AIP_STORAGE_URI. */
  private copyArtifacts(source: ModelContainerSource, placement: ContainerPlacement): string {
    const where = /^gs:\/\/([^/]+)\/?(.*)$/.exec(source.artifactUri);
    if (where === null) throw new ContainerError(`artifactUri ${source.artifactUri} is not a gs:// location`);
    const [bucket, folder] = [where[1] as string, (where[2] as string).replace(/\/+$/, '')];
    const prefix = folder === '' ? '' : `${folder}/`;
    const managed = `vertex-ai-managed-${placement.project}`;
    this.gcs.addBucket(managed);
    const target = `${placement.deployedModelId}-${this.copies++}/artifacts`;
    for (const object of this.gcs.list(bucket, prefix)) {
      this.gcs.put(
        managed,
        `${target}/${object.name.slice(prefix.length)}`,
        object.data,
        object.contentType,
        object.metadata,
      );
    }
    return `gs://${managed}/${target}`;
  }

  /** POSTs `{instances, parameters}` to the container's predict route. */
  async predict(
    serving: ServingContainer,
    instances: readonly unknown[],
    parameters?: unknown,
    timeoutMs = 600_000,
  ): Promise<ContainerReply> {
    const body = Buffer.from(
      JSON.stringify({ instances, ...(parameters === undefined ? {} : { parameters }) }),
    );
    const reply = await postToModel(
      `http://127.0.0.1:${serving.port}${serving.predictRoute}`,
      body,
      { 'content-type': 'application/json' },
      'application/json',
      { ms: timeoutMs, error: () => new ContainerError('the model container did not answer in time') },
    );
    const text = reply.body.toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: the container's text as it is
    }
    return { status: reply.status, body: parsed };
  }

  /** Containers still running (deployments and batch replicas). */
  running(): number {
    return this.live.size;
  }

  async stop(serving: ServingContainer | undefined): Promise<void> {
    if (serving === undefined) return;
    await serving.container.stop(2_000);
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.live].map((c) => c.stop(2_000)));
  }
}

function describeExit(container: RunningContainer): string {
  const exit = container.exit();
  return exit?.signal ?? `code ${String(exit?.code)}`;
}
