// SageMaker's model containers: the image of CreateModel's PrimaryContainer, pulled from the emulated
// registry and started the way SageMaker hosting and Batch Transform start it (`docker run <image> serve`,
// the model's Environment, the model data in /opt/ml/model, the port it is told, GET /ping until 200).
// Nothing here scores a model: whatever the image does with the request is what the caller gets.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ContainerImage, ImageRegistry, RunningContainer } from '../shared/containers.js';
import { freePort, logTail, startContainer, waitHealthy } from '../shared/containers.js';
import { validation } from './aws-http.js';
import type { S3Service } from './s3-service.js';
import { extractTarGz } from './tar-reader.js';

/** https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html */
export const HOSTING_CONTRACT =
  'https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html';

/**
 * Manifest media types SageMaker hosting pulls. OCI manifests and indexes are refused at CreateModel:
 * aws/amazon-sagemaker-feedback#180 ("Unsupported manifest media type application/vnd.oci.image.manifest.v1+json
 * for image …"), mlflow/mlflow#13834 (the same for application/vnd.oci.image.index.v1+json), moby/buildkit#5480.
 * A Docker manifest list is accepted here; whether SageMaker resolves one is not documented (a guess).
 */
export const SAGEMAKER_MANIFEST_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

/**
 * The label by which an image says it listens on SAGEMAKER_BIND_TO_PORT (instead of 8080):
 * https://docs.aws.amazon.com/sagemaker/latest/dg/inference-pipeline-real-time.html
 */
export const BIND_TO_PORT_LABEL = 'com.amazonaws.sagemaker.capabilities.accept-bind-to-port';

/** Where SageMaker puts the model data in the container (your-algorithms-inference-code.html, "How SageMaker Loads Your Model Artifacts"). */
export const MODEL_DIR = '/opt/ml/model';

/** A model's container, as CreateModel gave it. */
export interface ModelSource {
  image: string;
  environment: Record<string, string>;
  /** ModelDataUrl: a model.tar.gz SageMaker extracts into /opt/ml/model. */
  modelDataUrl?: string;
  /** ModelDataSource.S3DataSource. */
  dataSource?: { uri: string; dataType: string; compression: string };
}

/** A serving container that answered GET /ping with 200. */
export interface ServingContainer {
  readonly url: string;
  readonly container: RunningContainer;
  stop(): Promise<void>;
}

/** Why a container could not serve, in the words of the endpoint's (or job's) FailureReason. */
export class ContainerFailure extends Error {}

export interface ContainerStart {
  /** For folder and log names. */
  name: string;
  source: ModelSource;
  /** What the platform adds (Batch Transform's SAGEMAKER_BATCH…, a job's Environment). */
  env?: Record<string, string>;
  /** How long the container may take to answer GET /ping with 200. */
  healthTimeoutMs: number;
}

/** Resolves images, downloads model data, starts containers and stops them (by the runner's PID handle). */
export class SageMakerContainers {
  private readonly running = new Set<ServingContainer>();
  private stopped = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly s3: S3Service,
    private readonly registry: ImageRegistry,
    private readonly workDir: string,
  ) {}

  /**
   * The image of a reference, as CreateModel checks it; throws SageMaker's ValidationException for an image
   * that is not in the registry (the wording of aws-samples/easy-amazon-sagemaker-deployments#4: "Requested
   * image … not found.") or was pushed with a manifest media type SageMaker does not pull.
   */
  image(reference: string): ContainerImage {
    const image = this.registry.get(reference);
    if (image === undefined) throw validation(`Requested image ${reference} not found.`);
    if (!SAGEMAKER_MANIFEST_TYPES.includes(image.manifestMediaType)) {
      throw validation(
        `Unsupported manifest media type ${image.manifestMediaType} for image ${reference}. Ensure that valid manifest media type is used for specified image.`,
      );
    }
    return image;
  }

  /** Starts a container with `serve` and waits for its GET /ping; throws a ContainerFailure when it does not come up. */
  async start(spec: ContainerStart): Promise<ServingContainer> {
    if (this.stopped) throw new ContainerFailure('the emulator stopped');
    const starting = this.startNow(spec);
    this.inflight.add(starting);
    return starting.finally(() => this.inflight.delete(starting));
  }

  private async startNow(spec: ContainerStart): Promise<ServingContainer> {
    let image: ContainerImage;
    try {
      image = this.image(spec.source.image);
    } catch (error) {
      throw new ContainerFailure((error as Error).message);
    }
    // The emulator cannot give each container its own port 8080 (the host has one loopback): it runs only
    // images that declare they listen on SAGEMAKER_BIND_TO_PORT. SageMaker would run such an image on 8080.
    if (image.config.Labels?.[BIND_TO_PORT_LABEL] !== 'true') {
      throw new ContainerFailure(
        `the emulator runs only images labelled ${BIND_TO_PORT_LABEL}=true (it cannot give each container its own port 8080, where SageMaker sends traffic to an image without the label): ${spec.source.image}`,
      );
    }
    const dir = await mkdtemp(join(this.workDir, `container-${spec.name.replace(/[^\w.-]/g, '_')}-`));
    const modelDir = join(dir, 'model');
    await mkdir(modelDir, { recursive: true });
    await this.download(spec.source, modelDir);
    const port = await freePort();
    const container = await startContainer({
      image,
      name: spec.name,
      workDir: dir,
      // "SageMaker AI runs the container as: docker run image serve" (HOSTING_CONTRACT, and
      // your-algorithms-batch-code.html for Batch Transform).
      args: ['serve'],
      env: { ...spec.source.environment, ...spec.env, SAGEMAKER_BIND_TO_PORT: String(port) },
      mounts: { [MODEL_DIR]: modelDir },
    });
    const serving: ServingContainer = {
      url: `http://127.0.0.1:${port}`,
      container,
      stop: async () => {
        this.running.delete(serving);
        await container.stop(2_000);
        await rm(dir, { recursive: true, force: true });
      },
    };
    this.running.add(serving);
    if (this.stopped) {
      await serving.stop();
      throw new ContainerFailure('the emulator stopped');
    }
    // "Your container must respond to /ping with HTTP 200 … SageMaker AI waits for the container to pass the
    // health check" (HOSTING_CONTRACT, "How Your Container Should Respond to Health Check (Ping) Requests").
    const health = await waitHealthy(container, {
      url: `${serving.url}/ping`,
      timeoutMs: spec.healthTimeoutMs,
      intervalMs: 100,
    });
    if (!health.ok) {
      const tail = logTail(container, 15);
      await serving.stop();
      throw new ContainerFailure(`${health.reason}. Last lines of the container log:\n${tail}`);
    }
    return serving;
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running].map((c) => c.stop()));
    // Starts under way end (and stop what they started) before the emulator removes its folder.
    await Promise.allSettled([...this.inflight]);
    await Promise.all([...this.running].map((c) => c.stop()));
  }

  /**
   * The model data into the folder mounted at /opt/ml/model: a model.tar.gz (ModelDataUrl, or S3DataSource
   * with CompressionType Gzip) is extracted; an uncompressed S3Object lands as /opt/ml/model/<last key
   * segment>; an uncompressed S3Prefix keeps the keys' paths below the prefix (API_S3ModelDataSource.html).
   */
  private async download(source: ModelSource, dir: string): Promise<void> {
    const uri = source.modelDataUrl ?? source.dataSource?.uri;
    if (uri === undefined) return;
    const failed = (): ContainerFailure =>
      new ContainerFailure(
        `Failed to download model data for container "container_1" from URL: "${uri}". Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the object.`,
      );
    const location = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (location === null) throw failed();
    const [, bucket = '', key = ''] = location;
    if (source.dataSource?.dataType === 'S3Prefix') {
      const objects = this.s3.objects(bucket).filter((o) => o.key.startsWith(key) && !o.key.endsWith('/'));
      if (objects.length === 0) throw failed();
      for (const object of objects) {
        const target = join(dir, object.key.slice(key.length));
        await mkdir(dirname(target), { recursive: true });
        await copyFile(object.path, target);
      }
      return;
    }
    const object = this.s3.get(bucket, key);
    if (object === undefined) throw failed();
    if (source.modelDataUrl !== undefined || source.dataSource?.compression === 'Gzip') {
      try {
        await extractTarGz(object.path, dir);
      } catch (error) {
        throw new ContainerFailure(
          `Failed to extract model data archive from URL "${uri}". Please ensure that the object located at the URL is a valid tar.gz archive: ${(error as Error).message}`,
        );
      }
      return;
    }
    await copyFile(object.path, join(dir, key.split('/').pop() ?? 'model'));
  }
}
