import type { IncomingMessage } from 'node:http';
import type { ArmReply } from './arm-http.js';
import { ArmError, isoDurationMs } from './arm-http.js';
import type { ArmResource, AzureEmulator } from './azure-emulator.js';
import type { InferenceContainers } from './inference-containers.js';
import { postToModel } from '../shared/model-servers.js';

/**
 * The data plane of managed online endpoints: `POST <scoringUri>` with a key (or an AML token) as bearer,
 * routed by the endpoint's traffic map (or the `azureml-model-deployment` header) and forwarded to the
 * deployment's user container on its inferenceConfig scoringRoute (api-version 2022-10-01 has no mirror
 * traffic). As Azure documents (https://learn.microsoft.com/azure/machine-learning/how-to-troubleshoot-online-endpoints#http-status-codes):
 * a non-200 answer of the user container comes back as 424, a request over the deployment's requestTimeout
 * as 408, more requests than the instances take at once as 429, and a container that does not answer as
 * 502. No per-request size limit is enforced: Azure documents none for managed online endpoints
 * (https://learn.microsoft.com/azure/machine-learning/how-to-manage-quotas, only 5 MBps bandwidth per
 * endpoint); the container's own limit applies.
 */
export class Scoring {
  /** Requests each deployment answered. */
  readonly served = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly emulator: AzureEmulator,
    private readonly containers: InferenceContainers,
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
    const accept = req.headers.accept;
    const answer = await this.forward(deployment, body, {
      'content-type': contentType,
      ...(accept === undefined ? {} : { accept }),
    });
    return { status: answer.status, headers: { 'azureml-model-deployment': deployment.name }, raw: answer };
  }

  private async forward(
    deployment: ArmResource,
    body: Buffer,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: Buffer; contentType: string }> {
    const props = deployment.body['properties'] as Record<string, unknown>;
    const container = this.containers.get(deployment.id);
    if (props['provisioningState'] !== 'Succeeded' || container === undefined) {
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
    // [guess] the factor 8; the audit (item 7) reads Azure as 2 × maxConcurrentRequestsPerInstance × instances.
    if (running >= capacity * perInstance * 8) {
      throw new ArmError(429, 'TooManyRequests', 'Too many pending requests: the deployment is at capacity.');
    }
    const timeoutMs = isoDurationMs(settings['requestTimeout'] as string | undefined, 5000);
    const url = this.containers.url(container, container.scoring);
    this.inFlight.set(deployment.name, running + 1);
    try {
      let reply;
      try {
        if (url === undefined) throw new Error('no port');
        reply = await postToModel(url, body, headers, 'application/json', {
          ms: timeoutMs,
          error: () =>
            new ArmError(
              408,
              'RequestTimeout',
              `Request timed out after ${timeoutMs} ms (the deployment's requestTimeout).`,
            ),
        });
      } catch (error) {
        if (error instanceof ArmError) throw error;
        throw new ArmError(
          502,
          'BadGateway',
          `The user container did not answer on its scoring route ${container.scoring.path} (port ${container.scoring.port}): ${(error as Error).message}`,
        );
      }
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
