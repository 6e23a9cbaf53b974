import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ArmReply } from './arm-http.js';
import { ArmError, json } from './arm-http.js';
import type { ArmResource, AzureEmulator } from './azure-emulator.js';

/** How a batch endpoint invocation names its data (the body of `POST <batch scoringUri>`). */
export interface BatchInvocation {
  properties?: {
    InputData?: Record<string, { JobInputType?: string; Uri?: string }>;
    OutputData?: Record<string, { JobOutputType?: string; Uri?: string }>;
  };
  tags?: Record<string, string>;
}

/**
 * Batch endpoints' data plane: an invocation creates a job (visible through ARM `jobs`). Azure ML runs it with
 * its Python batch driver, which calls the deployment's scoring script (`init()`, `run(mini_batch)`,
 * https://learn.microsoft.com/azure/machine-learning/how-to-batch-scoring-script) in the deployment's
 * environment, which "should include the packages azureml-core and azureml-dataset-runtime[fuse]"
 * (https://learn.microsoft.com/azure/machine-learning/how-to-use-batch-model-deployments). The emulator
 * cannot run Python: such a job fails, saying so, rather than scoring the model itself (which would pass a
 * deployment Azure could not run). Deployments without a scoring script are refused at PUT
 * (azure-emulator.ts checkPut).
 */
export class BatchRunner {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly emulator: AzureEmulator) {}

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
    _input: { container: string; path: string },
    _output: { container: string; path: string } | undefined,
  ): Promise<void> {
    const props = job.body['properties'] as Record<string, unknown>;
    await new Promise((resolve) => setTimeout(resolve, 10));
    const failure = this.emulator.faults.takeJobFailure(endpointName);
    const script = (
      (deployment.body['properties'] as Record<string, unknown>)['codeConfiguration'] as
        { scoringScript?: string } | undefined
    )?.scoringScript;
    props['status'] = 'Failed';
    props['error'] = {
      code: 'UserError',
      message:
        failure ??
        `[emulator] batch deployment ${deployment.name} runs the Python scoring script ${script ?? '(none)'} with the Azure ML batch driver, which this emulator cannot run.`,
    };
  }
}
