import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictFile } from '@modelport/runtime';
import type { ArmReply } from './arm-http.js';
import { ArmError, json } from './arm-http.js';
import type { ArmResource, AzureEmulator } from './azure-emulator.js';
import type { BlobRest } from './blob-rest.js';
import type { ModelServers } from './model-servers.js';

/** How a batch endpoint invocation names its data (the body of `POST <batch scoringUri>`). */
export interface BatchInvocation {
  properties?: {
    InputData?: Record<string, { JobInputType?: string; Uri?: string }>;
    OutputData?: Record<string, { JobOutputType?: string; Uri?: string }>;
  };
  tags?: Record<string, string>;
}

/**
 * Batch endpoints' data plane: an invocation creates a job (visible through ARM `jobs`) that runs the
 * deployment's model over every input blob with the runtime's batch file processor, mini-batch by
 * mini-batch, retrying a failed file up to retrySettings.maxRetries and failing once more records than
 * errorThreshold are bad; outputs are appended into one file (outputAction AppendRow, outputFileName).
 */
export class BatchRunner {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly emulator: AzureEmulator,
    private readonly servers: ModelServers,
    private readonly blobs: () => BlobRest,
  ) {}

  /** Resolves once no job is running (the emulator waits for them before it stops). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async invoke(path: string, raw: Buffer, req: IncomingMessage): Promise<ArmReply> {
    const match = /^\/batch\/([^/]+)\/([^/]+)\/jobs$/.exec(path);
    if (match === null || req.method !== 'POST') throw new ArmError(404, 'NotFound', 'no such batch route');
    const endpointName = decodeURIComponent(match[2] ?? '');
    const endpoint = this.emulator.find('batchEndpoints', endpointName);
    if (endpoint === undefined)
      throw new ArmError(404, 'NotFound', `Batch endpoint ${endpointName} not found.`);
    if (!/^Bearer \S+/i.test(String(req.headers.authorization ?? ''))) {
      throw new ArmError(401, 'Unauthorized', 'Authentication failed: an Azure AD token is required.');
    }
    const defaults = ((endpoint.body['properties'] as Record<string, unknown>)['defaults'] ?? {}) as {
      deploymentName?: string;
    };
    const deploymentName = String(req.headers['azureml-model-deployment'] ?? '') || defaults.deploymentName;
    const deployment =
      deploymentName === undefined
        ? undefined
        : this.emulator.find('batchEndpoints/deployments', deploymentName);
    if (
      deployment === undefined ||
      !deployment.id.toLowerCase().startsWith(`${endpoint.id.toLowerCase()}/`)
    ) {
      throw new ArmError(
        400,
        'UserError',
        `Batch endpoint ${endpointName} has no deployment ${deploymentName ?? '(no default)'}.`,
      );
    }
    const body = JSON.parse(raw.toString('utf8') || '{}') as BatchInvocation;
    const input = Object.values(body.properties?.InputData ?? {})[0]?.Uri;
    const output = Object.values(body.properties?.OutputData ?? {})[0]?.Uri;
    const inputLocation = input === undefined ? undefined : this.emulator.datastorePath(input);
    if (inputLocation === undefined) {
      throw new ArmError(
        400,
        'UserError',
        'properties.InputData needs one UriFolder input in the workspace datastore (azureml://datastores/...).',
      );
    }
    const outputLocation = output === undefined ? undefined : this.emulator.datastorePath(output);
    const name = `batchjob-${randomUUID()}`;
    const workspaceId = endpoint.id.slice(0, endpoint.id.toLowerCase().indexOf('/batchendpoints/'));
    const outputUri = output ?? `azureml://datastores/workspaceblobstore/paths/azureml/${name}/score/`;
    const job = this.emulator.putJob(workspaceId, name, {
      properties: {
        jobType: 'Pipeline',
        displayName: name,
        experimentName: endpointName,
        status: 'Running',
        tags: body.tags ?? {},
        properties: { 'azureml.batchrun': 'true', 'azureml.deploymentname': deployment.name },
        inputs: { input_data: { jobInputType: 'uri_folder', uri: input } },
        outputs: { score: { jobOutputType: 'uri_folder', uri: outputUri } },
      },
    });
    const run = this.run(
      job,
      deployment,
      endpointName,
      inputLocation,
      outputLocation ?? this.emulator.datastorePath(outputUri),
    )
      .catch(() => undefined)
      .finally(() => this.running.delete(run));
    this.running.add(run);
    return json(200, job.body);
  }

  private async run(
    job: ArmResource,
    deployment: ArmResource,
    endpointName: string,
    input: { container: string; path: string },
    output: { container: string; path: string } | undefined,
  ): Promise<void> {
    const props = job.body['properties'] as Record<string, unknown>;
    const settings = deployment.body['properties'] as Record<string, unknown>;
    const dir = await mkdtemp(join(tmpdir(), 'modelport-azure-batch-'));
    try {
      const failure = this.emulator.faults.takeJobFailure(endpointName);
      if (failure !== undefined) throw new Error(failure);
      const model = await this.model(settings);
      const blobs = this.blobs();
      const prefix = input.path.replace(/\/?$/, '/');
      const files = (await blobs.list(input.container, prefix)).filter((n) => !n.endsWith('/'));
      if (files.length === 0) throw new Error(`No input files found under ${input.path}.`);
      const retries = Number(
        (settings['retrySettings'] as { maxRetries?: number } | undefined)?.maxRetries ?? 3,
      );
      const threshold = Number(settings['errorThreshold'] ?? -1);
      const batchSize = Number(
        (settings['environmentVariables'] as Record<string, string> | undefined)?.['MODELPORT_BATCH_SIZE'] ??
          1024,
      );
      const rows: string[] = [];
      let badRecords = 0;
      for (const [i, file] of files.sort().entries()) {
        const data = await blobs.get(input.container, file);
        if (data === undefined) throw new Error(`the input ${file} is gone`);
        const local = join(dir, `in-${i}${file.endsWith('.csv') ? '.csv' : '.jsonl'}`);
        await writeFile(local, data);
        const out = join(dir, `out-${i}.jsonl`);
        let result: { errors: number } | undefined;
        for (let attempt = 0; result === undefined; attempt++) {
          try {
            result = await predictFile({ model, input: local, output: out, batchSize });
          } catch (error) {
            if (attempt >= retries) throw error;
          }
        }
        badRecords += result.errors;
        if (threshold >= 0 && badRecords > threshold) {
          throw new Error(`${badRecords} bad record(s), above the error threshold of ${threshold}.`);
        }
        rows.push(...(await readFile(out, 'utf8')).split('\n').filter((l) => l !== ''));
      }
      if (output !== undefined) {
        const fileName = String(settings['outputFileName'] ?? 'predictions.csv');
        await blobs.put(
          output.container,
          `${output.path.replace(/\/?$/, '/')}${fileName}`,
          Buffer.from(rows.map((r) => `${r}\n`).join('')),
          'application/jsonlines',
        );
      }
      props['status'] = 'Completed';
    } catch (error) {
      props['status'] = 'Failed';
      props['error'] = { code: 'UserError', message: (error as Error).message };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async model(settings: Record<string, unknown>) {
    const modelId = String((settings['model'] as { assetId?: string } | undefined)?.assetId ?? '');
    const model = this.emulator.resources.get(modelId.toLowerCase());
    const uri = String(
      (model?.body['properties'] as Record<string, unknown> | undefined)?.['modelUri'] ?? '',
    );
    const location = this.emulator.datastorePath(uri);
    if (location === undefined)
      throw new Error(`the deployment's model ${modelId} is not in the workspace datastore`);
    const env = (settings['environmentVariables'] ?? {}) as Record<string, string>;
    return (await this.servers.server(location, env)).model;
  }
}
