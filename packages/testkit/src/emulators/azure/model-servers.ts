import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningServer } from '@modelport/runtime';
import { createJsonLogger, OnnxModel, startServer } from '@modelport/runtime';
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

const MIB = 1024 * 1024;

/**
 * The inference containers of emulated deployments: Azure ML mounts the registered model and starts the
 * environment's image; here the model is read from azurite and served by the modelport runtime in this
 * process (its Azure `/score` route), so scoring returns real predictions. One server per model location.
 */
export class ModelServers {
  private readonly running = new Map<
    string,
    Promise<{ server: ModelServer; http: RunningServer; dir: string }>
  >();

  constructor(
    private readonly blobs: () => BlobRest,
    private readonly workDir: string,
  ) {}

  async server(location: ModelLocation, env: Record<string, string>): Promise<ModelServer> {
    const key = JSON.stringify([location.container, location.path, env['MODELPORT_MAX_PAYLOAD_MB']]);
    let entry = this.running.get(key);
    if (entry === undefined) {
      entry = this.start(location, env);
      this.running.set(key, entry);
      entry.catch(() => this.running.delete(key));
    }
    return (await entry).server;
  }

  async stopAll(): Promise<void> {
    const entries = [...this.running.values()];
    this.running.clear();
    await Promise.all(
      entries.map(async (entry) => {
        try {
          const { http, server, dir } = await entry;
          await http.close(0);
          await server.model.close();
          await rm(dir, { recursive: true, force: true });
        } catch {
          // a server that never started has nothing to stop
        }
      }),
    );
  }

  private async start(
    location: ModelLocation,
    env: Record<string, string>,
  ): Promise<{ server: ModelServer; http: RunningServer; dir: string }> {
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
    const http = await startServer({
      model,
      port: 0,
      maxPayloadBytes: Math.max(1, maxPayloadMB) * MIB,
      logger: createJsonLogger({ level: 'silent' }),
    });
    return { server: { url: http.url, model }, http, dir };
  }
}
