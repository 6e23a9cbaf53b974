import { copyFile, mkdtemp, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxModel } from '@modelport/runtime';
import { RunningModels, serveModel } from '../shared/model-servers.js';
import type { RunningModel } from '../shared/model-servers.js';
import { AwsError } from './aws-http.js';
import type { S3Service } from './s3-service.js';
import { extractTarGz } from './tar-reader.js';

/** Where a model's files come from, as CreateModel gave it. */
export interface ModelSource {
  modelDataUrl?: string;
  /** ModelDataSource.S3DataSource with CompressionType None: one uncompressed file or a prefix. */
  uncompressedUri?: string;
  environment: Record<string, string>;
}

/** A running "serving container": the modelport runtime serving the model SageMaker downloaded from S3. */
export interface Container {
  url: string;
  model: OnnxModel;
}

/**
 * The serving containers of emulated endpoints. A real endpoint pulls the image and downloads the model
 * data from S3 into /opt/ml/model; here the model data is read from the emulated S3 and served by the
 * modelport runtime in this process (its SageMaker routes /ping and /invocations), so invocations return
 * real predictions. One container per model data location, shared by endpoints that use it.
 */
export class ModelContainers {
  private readonly running = new RunningModels<RunningModel & { container: Container }>();

  constructor(
    private readonly s3: S3Service,
    private readonly workDir: string,
  ) {}

  /** Starts (or returns) the container of a model; throws an AwsError with SageMaker's wording when it cannot. */
  async container(source: ModelSource): Promise<Container> {
    const key = JSON.stringify([source.modelDataUrl, source.uncompressedUri]);
    return (await this.running.get(key, () => this.start(source))).container;
  }

  /** The model's ONNX file downloaded and loaded (transform jobs run it directly, like the batch runner). */
  async model(source: ModelSource): Promise<OnnxModel> {
    return (await this.container(source)).model;
  }

  async stopAll(): Promise<void> {
    await this.running.stopAll();
  }

  private async start(source: ModelSource): Promise<RunningModel & { container: Container }> {
    const dir = await mkdtemp(join(this.workDir, 'model-'));
    await this.download(source, dir);
    const files = await readdir(dir, { recursive: true });
    // As the portable serving image does: MODELPORT_MODEL names the file under /opt/ml/model.
    const wanted = source.environment['MODELPORT_MODEL']?.replace(/^\/opt\/ml\/model\//, '');
    const onnx = files.find((f) => (wanted === undefined ? f.endsWith('.onnx') : f === wanted));
    if (onnx === undefined) {
      throw new AwsError(
        'ModelError',
        `the model data has no ONNX file${wanted === undefined ? '' : ` named ${wanted}`} (files: ${files.join(', ') || 'none'})`,
      );
    }
    const signatureFile = files.find((f) => f === 'signature.json');
    const signature =
      signatureFile === undefined ? undefined : JSON.parse(await readFile(join(dir, signatureFile), 'utf8'));
    const model = await OnnxModel.load(join(dir, onnx), {
      name: 'model',
      ...(signature === undefined ? {} : { signature }),
    });
    const maxPayloadMB = Number(source.environment['MODELPORT_MAX_PAYLOAD_MB'] ?? 6);
    const server = await serveModel(model, maxPayloadMB);
    return { container: { url: server.url, model }, server, model, dir };
  }

  private async download(source: ModelSource, dir: string): Promise<void> {
    const uri = source.modelDataUrl ?? source.uncompressedUri;
    if (uri === undefined) throw new AwsError('ModelError', 'the model has no model data');
    const location = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    const object = location === null ? undefined : this.s3.get(location[1] as string, location[2] as string);
    if (object === undefined) {
      throw new AwsError('ModelError', `Could not find model data at ${uri}.`);
    }
    if (source.modelDataUrl !== undefined) {
      try {
        await extractTarGz(object.path, dir);
      } catch (error) {
        throw new AwsError(
          'ModelError',
          `Failed to extract model data archive from URL "${uri}": ${(error as Error).message}`,
        );
      }
    } else {
      const name = object.key.split('/').pop() ?? 'model';
      await copyFile(object.path, join(dir, name));
    }
  }
}
