import { mkdtemp, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { OnnxModel } from '@modelport/runtime';
import { RunningModels, serveModel } from '../shared/model-servers.js';
import type { RunningModel } from '../shared/model-servers.js';
import type { GcsFake } from './gcs-fake.js';

/** What a Vertex model says about its serving container. */
export interface ContainerSource {
  artifactUri: string;
  predictRoute: string;
  healthRoute: string;
  env: Record<string, string>;
}

export interface ModelServer {
  url: string;
  predictRoute: string;
  model: OnnxModel;
}

/** Why a model container could not start (the emulator fails the deploy with it). */
export class ContainerError extends Error {}

/**
 * The prediction containers of deployed models. Vertex copies the model's artifactUri for the container
 * (AIP_STORAGE_URI); here the files are read from the fake GCS and the modelport runtime serves them on
 * the model's AIP_* routes in this process, so predictions are real.
 */
export class ModelServers {
  private readonly running = new RunningModels<RunningModel & { predictRoute: string }>();

  constructor(
    private readonly gcs: GcsFake,
    private readonly workDir: string,
  ) {}

  async server(source: ContainerSource): Promise<ModelServer> {
    const key = JSON.stringify(source);
    const { server, model, predictRoute } = await this.running.get(key, () => this.start(source));
    return { url: server.url, predictRoute, model };
  }

  /** POSTs `{instances, parameters}` to the container's predict route; returns its JSON answer. */
  async predict(
    source: ContainerSource,
    instances: unknown[],
    parameters?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const server = await this.server(source);
    const payload = Buffer.from(
      JSON.stringify({ instances, ...(parameters === undefined ? {} : { parameters }) }),
    );
    return new Promise((resolve, reject) => {
      const req = request(`${server.url}${server.predictRoute}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      });
      req.once('error', reject);
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: the container's error text as is
          }
          resolve({ status: res.statusCode ?? 500, body });
        });
      });
      req.end(payload);
    });
  }

  async stopAll(): Promise<void> {
    await this.running.stopAll();
  }

  private async start(source: ContainerSource): Promise<RunningModel & { predictRoute: string }> {
    const location = /^gs:\/\/([^/]+)\/?(.*)$/.exec(source.artifactUri);
    if (location === null)
      throw new ContainerError(`artifactUri ${source.artifactUri} is not a gs:// location`);
    const bucket = location[1] as string;
    const prefix = (location[2] as string).replace(/\/?$/, '/');
    const objects = this.gcs.list(bucket, prefix === '/' ? '' : prefix);
    const wanted = source.env['MODELPORT_MODEL']?.split('/').pop();
    const onnx = objects.find((o) =>
      wanted === undefined ? o.name.endsWith('.onnx') : o.name.endsWith(`/${wanted}`),
    );
    if (onnx === undefined) {
      throw new ContainerError(
        `Model server never became ready: no ONNX file${wanted === undefined ? '' : ` named ${wanted}`} under ${source.artifactUri}`,
      );
    }
    const dir = await mkdtemp(join(this.workDir, 'vertex-model-'));
    const file = join(dir, 'model.onnx');
    await writeFile(file, onnx.data);
    const signatureObject = objects.find((o) => o.name.endsWith('/signature.json'));
    const signature =
      signatureObject === undefined ? undefined : JSON.parse(signatureObject.data.toString('utf8'));
    let model: OnnxModel;
    try {
      model = await OnnxModel.load(file, {
        name: source.env['MODELPORT_MODEL_NAME'] ?? 'model',
        ...(signature === undefined ? {} : { signature }),
      });
    } catch (error) {
      throw new ContainerError(`Model server never became ready: ${(error as Error).message}`);
    }
    const server = await serveModel(model, Number(source.env['MODELPORT_MAX_PAYLOAD_MB'] ?? 10), {
      healthRoute: source.healthRoute,
      predictRoute: source.predictRoute,
    });
    return { server, model, dir, predictRoute: source.predictRoute };
  }
}
