import type { IncomingMessage } from 'node:http';
import type { ArmReply } from './arm-http.js';
import { ArmError, isoDurationMs } from './arm-http.js';
import type { ArmResource, AzureEmulator } from './azure-emulator.js';
import type { ModelServers } from './model-servers.js';
import { postToModel } from '../shared/model-servers.js';

/** Managed online endpoints refuse bodies over this (the limit modelport declares). */
export const SCORING_LIMIT_BYTES = 1.5 * 1024 * 1024;

/**
 * The data plane of managed online endpoints: `POST <scoringUri>` with a key (or an AML token) as bearer,
 * routed by the endpoint's traffic map (or the `azureml-model-deployment` header) and answered by the
 * deployment's model server (api-version 2022-10-01 has no mirror traffic). As Azure documents: a non-200 answer of the
 * model container comes back as 424, a request over the deployment's requestTimeout as 408, and more
 * requests than the instances take at once as 429.
 */
export class Scoring {
  /** Requests each deployment answered. */
  readonly served = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly emulator: AzureEmulator,
    private readonly servers: ModelServers,
  ) {}

  async score(path: string, body: Buffer, req: IncomingMessage): Promise<ArmReply> {
    const match = /^\/score\/([^/]+)\/([^/]+)\/score$/.exec(path);
    if (match === null || req.method !== 'POST') throw new ArmError(404, 'NotFound', 'no such scoring route');
    const endpointName = decodeURIComponent(match[2] ?? '');
    const endpoint = this.emulator.find('onlineEndpoints', endpointName);
    if (endpoint === undefined) throw new ArmError(404, 'NotFound', `Endpoint ${endpointName} not found.`);
    const props = endpoint.body['properties'] as Record<string, unknown>;
    const keys = (props['_keys'] ?? {}) as { primaryKey?: string; secondaryKey?: string };
    const auth = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    if (auth === '' || (auth !== keys.primaryKey && auth !== keys.secondaryKey && !auth.startsWith('aml-'))) {
      throw new ArmError(401, 'Unauthorized', 'Authentication failed: a valid key or token is required.');
    }
    if (body.length > SCORING_LIMIT_BYTES) {
      throw new ArmError(
        413,
        'PayloadTooLarge',
        `The request body of ${body.length} bytes is above the ${SCORING_LIMIT_BYTES} byte limit.`,
      );
    }
    const chosen = String(req.headers['azureml-model-deployment'] ?? '') || pick(props['traffic']);
    if (chosen === undefined) {
      throw new ArmError(
        404,
        'NotFound',
        `No valid deployments to route to on endpoint ${endpointName}: its traffic is empty.`,
      );
    }
    const deployment = this.emulator.find('onlineEndpoints/deployments', chosen);
    if (deployment === undefined || !deployment.id.toLowerCase().startsWith(endpoint.id.toLowerCase())) {
      throw new ArmError(404, 'NotFound', `Deployment ${chosen} not found on endpoint ${endpointName}.`);
    }
    const contentType = String(req.headers['content-type'] ?? 'application/json');
    const answer = await this.forward(deployment, body, contentType);
    return { status: answer.status, headers: { 'azureml-model-deployment': deployment.name }, raw: answer };
  }

  private async forward(
    deployment: ArmResource,
    body: Buffer,
    contentType: string,
  ): Promise<{ status: number; body: Buffer; contentType: string }> {
    const props = deployment.body['properties'] as Record<string, unknown>;
    if (props['provisioningState'] !== 'Succeeded') {
      throw new ArmError(
        424,
        'ModelNotReady',
        `Deployment ${deployment.name} is ${String(props['provisioningState'])}.`,
      );
    }
    const settings = (props['requestSettings'] ?? {}) as Record<string, unknown>;
    const capacity = Number((deployment.body['sku'] as { capacity?: number } | undefined)?.capacity ?? 1);
    const perInstance = Number(settings['maxConcurrentRequestsPerInstance'] ?? 1);
    const running = this.inFlight.get(deployment.name) ?? 0;
    // Each instance takes its concurrency and queues as many again (maxQueueWait is not modelled).
    if (running >= capacity * perInstance * 8) {
      throw new ArmError(429, 'TooManyRequests', 'Too many pending requests: the deployment is at capacity.');
    }
    const timeoutMs = isoDurationMs(settings['requestTimeout'] as string | undefined, 5000);
    this.inFlight.set(deployment.name, running + 1);
    try {
      const server = await this.serverOf(deployment);
      const route = this.scoringRoute(props);
      const reply = await postToModel(
        `${server.url}${route}`,
        body,
        { 'content-type': contentType },
        'application/json',
        {
          ms: timeoutMs,
          error: () =>
            new ArmError(
              408,
              'RequestTimeout',
              `Request timed out after ${timeoutMs} ms (the deployment's requestTimeout).`,
            ),
        },
      );
      this.served.set(deployment.name, (this.served.get(deployment.name) ?? 0) + 1);
      if (reply.status !== 200) {
        return {
          status: 424,
          contentType: 'application/json',
          body: Buffer.from(
            JSON.stringify({
              message: `An unexpected error occurred in scoring script (status ${reply.status}).`,
              detail: reply.body.toString('utf8'),
            }),
          ),
        };
      }
      return reply;
    } finally {
      this.inFlight.set(deployment.name, (this.inFlight.get(deployment.name) ?? 1) - 1);
    }
  }

  /**
   * What provisioning does before a deployment is Succeeded: the inference server starts with the model.
   * Resolves to the reason it could not (a model that is not in the datastore or does not load).
   */
  async warm(deployment: ArmResource): Promise<string | undefined> {
    try {
      await this.serverOf(deployment);
      return undefined;
    } catch (error) {
      return `ResourceNotReady: the inference server did not start: ${(error as Error).message}`;
    }
  }

  private async serverOf(deployment: ArmResource) {
    const props = deployment.body['properties'] as Record<string, unknown>;
    const modelId = (props['model'] as string | undefined) ?? '';
    const model = this.emulator.resources.get(modelId.toLowerCase());
    const uri = String(
      (model?.body['properties'] as Record<string, unknown> | undefined)?.['modelUri'] ?? '',
    );
    const location = this.emulator.datastorePath(uri);
    if (location === undefined) {
      throw new ArmError(
        424,
        'ModelError',
        `the emulator serves only models in the workspace datastore (got ${uri || 'none'})`,
      );
    }
    try {
      return await this.servers.server(
        location,
        (props['environmentVariables'] ?? {}) as Record<string, string>,
      );
    } catch (error) {
      throw new ArmError(424, 'ModelError', `The model could not be loaded: ${(error as Error).message}`);
    }
  }

  private scoringRoute(props: Record<string, unknown>): string {
    const envId = String(props['environmentId'] ?? '');
    const env = this.emulator.resources.get(envId.toLowerCase());
    const config = (env?.body['properties'] as Record<string, unknown> | undefined)?.['inferenceConfig'] as
      { scoringRoute?: { path?: string } } | undefined;
    return config?.scoringRoute?.path ?? '/score';
  }
}

/** A deployment by traffic weight. */
function pick(traffic: unknown): string | undefined {
  const entries = Object.entries((traffic ?? {}) as Record<string, number>).filter(([, v]) => v > 0);
  const total = entries.reduce((sum, [, v]) => sum + v, 0);
  if (total === 0) return undefined;
  let roll = Math.random() * total;
  for (const [name, weight] of entries) {
    roll -= weight;
    if (roll < 0) return name;
  }
  return entries[entries.length - 1]?.[0];
}
