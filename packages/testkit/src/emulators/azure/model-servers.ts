import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxModel } from '@modelport/runtime';
import { RunningModels, serveModel } from '../shared/model-servers.js';
import type { RunningModel } from '../shared/model-servers.js';
import type { BlobRest } from './blob-rest.js';

/** A model's files in the workspace's storage: container and blob path (one ONNX file, or a folder). */
export interface ModelLocation {
  container: string;
  path: string;
}

export interface ModelServer {
  url: string;
  model: OnnxModel;
}

/**
 * The inference containers of emulated deployments: Azure ML mounts the registered model and starts the
 * environment's image; here the model is read from azurite and served by the modelport runtime in this
 * process (its Azure `/score` route), so scoring returns real predictions. One server per model location.
 */
export class ModelServers {
  private readonly running = new RunningModels<RunningModel & { served: ModelServer }>();

  constructor(
    private readonly blobs: () => BlobRest,
    private readonly workDir: string,
  ) {}

  async server(location: ModelLocation, env: Record<string, string>): Promise<ModelServer> {
    const key = JSON.stringify([location.container, location.path, env['MODELPORT_MAX_PAYLOAD_MB']]);
    return (await this.running.get(key, () => this.start(location, env))).served;
  }

  async stopAll(): Promise<void> {
    await this.running.stopAll();
  }

  private async start(
    location: ModelLocation,
    env: Record<string, string>,
  ): Promise<RunningModel & { served: ModelServer }> {
    const blobs = this.blobs();
    const names = location.path.endsWith('.onnx')
      ? [location.path]
      : (await blobs.list(location.container, location.path.replace(/\/?$/, '/'))).filter((n) =>
          n.endsWith('.onnx'),
        );
    const first = names[0];
    if (first === undefined) throw new Error(`no ONNX file at ${location.container}/${location.path}`);
    const data = await blobs.get(location.container, first);
    if (data === undefined) throw new Error(`the model file ${location.container}/${first} is gone`);
    const dir = await mkdtemp(join(this.workDir, 'model-'));
    const file = join(dir, 'model.onnx');
    await writeFile(file, data);
    const model = await OnnxModel.load(file, { name: 'model' });
    const maxPayloadMB = Number(env['MODELPORT_MAX_PAYLOAD_MB'] ?? 5);
    const server = await serveModel(model, maxPayloadMB);
    return { served: { url: server.url, model }, server, model, dir };
  }
}
