import type { InvokeRequest, InvokeResponse, LoadedEndpoint } from '@modelport/core';
import { ModelportError, endpointMode } from '@modelport/core';
import type { GcpClients } from './client-factory.js';
import { endpointName } from './endpoint.js';
import { predictLimitBytes } from './endpoint-spec.js';
import { call } from './errors.js';
import type { GcpSettings } from './settings.js';
import type { ValueLike } from './values.js';
import { fromValue, toValue } from './values.js';
import type { Value } from './vertex-types.js';

const MIB = 1024 * 1024;

/** A JSON body as Vertex takes it: `{"instances": [...], "parameters": ...}`, or a bare list of instances. */
export function parsePredictBody(body: Uint8Array): { instances: unknown[]; parameters?: unknown } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (error) {
    throw new ModelportError('invalidInput', `Vertex AI takes JSON requests: ${(error as Error).message}`, {
      hint: 'send {"instances": [...]} (and optional "parameters")',
    });
  }
  if (Array.isArray(json)) return { instances: json };
  const object = json as { instances?: unknown; parameters?: unknown } | null;
  if (object === null || typeof object !== 'object' || !Array.isArray(object.instances)) {
    throw new ModelportError('invalidInput', 'a Vertex AI request needs an "instances" list', {
      hint: 'send {"instances": [...]} (and optional "parameters")',
    });
  }
  return {
    instances: object.instances,
    ...(object.parameters === undefined ? {} : { parameters: object.parameters }),
  };
}

/**
 * Predict over gRPC. The body is checked against the endpoint's limit before sending (1.5 MB shared,
 * 10 MB dedicated); the answer is `{"predictions": [...]}` as the container returned it.
 */
export async function predict(
  clients: GcpClients,
  manifest: LoadedEndpoint,
  settings: GcpSettings,
  request: InvokeRequest,
): Promise<InvokeResponse> {
  const name = manifest.manifest.metadata.name;
  if (endpointMode(manifest.manifest) === 'async') {
    throw new ModelportError(
      'capability',
      `${name} is an async endpoint: on Vertex AI each request is a batch prediction job`,
      {
        hint: 'use `modelport invoke --async` and `modelport result <id>`',
      },
    );
  }
  const limit = predictLimitBytes(settings);
  if (request.body.byteLength > limit) {
    throw new ModelportError(
      'invalidInput',
      `the payload is ${(request.body.byteLength / MIB).toFixed(2)} MB, above the ${limit / MIB} MB Vertex AI accepts on ${settings.dedicatedEndpoint ? 'a dedicated' : 'a shared'} endpoint`,
      {
        hint: settings.dedicatedEndpoint
          ? 'split the request, or run a BatchJob over files'
          : 'split the request, set spec.extensions.gcp.dedicatedEndpoint: true (10 MB), or run a BatchJob over files',
        details: { bytes: request.body.byteLength, limitBytes: limit },
      },
    );
  }
  const { instances, parameters } = parsePredictBody(request.body);
  // A dedicated endpoint answers on its own DNS name only (read from the endpoint).
  let client = clients.predictions;
  if (settings.dedicatedEndpoint) {
    const [endpoint] = await call(
      `get endpoint ${name}`,
      () => clients.endpoints.getEndpoint({ name: endpointName(settings) }),
      true,
    );
    client = clients.predictionsAt(endpoint.dedicatedEndpointDns ?? '');
  }
  const started = performance.now();
  const [response] = await call(`predict on endpoint ${name}`, () =>
    client.predict(
      {
        endpoint: endpointName(settings),
        instances: instances.map(toValue) as Value[],
        ...(parameters === undefined ? {} : { parameters: toValue(parameters) as Value }),
      },
      request.timeoutMs === undefined ? {} : { timeout: request.timeoutMs },
    ),
  );
  const predictions = (response.predictions ?? []).map((v) => fromValue(v as ValueLike));
  return {
    status: 200,
    body: Buffer.from(JSON.stringify({ predictions })),
    contentType: 'application/json',
    latencyMs: performance.now() - started,
    ...(response.deployedModelId ? { servedBy: response.deployedModelId } : {}),
  };
}
