import type { Agent } from 'node:https';
import type { HttpClient, PipelineRequest } from '@azure/core-rest-pipeline';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import type { InvokeRequest, InvokeResponse, LoadedEndpoint } from '@modelport/core';
import { ModelportError } from '@modelport/core';
import type { DeploymentContext } from './deployment-context.js';
import { call } from './errors.js';

const MIB = 1024 * 1024;
/** Managed online endpoints' request body limit, checked before sending. */
export const ONLINE_LIMIT_BYTES = 1.5 * MIB;
/** Longest request a deployment allows (requestTimeout ≤ 180 s). */
export const MAX_TIMEOUT_MS = 180_000;

const keys = new WeakMap<object, Map<string, Promise<{ uri: string; key: string }>>>();

/** Scoring URI and key of an endpoint (listKeys), once per process: keys are never logged. */
async function scoringTarget(dc: DeploymentContext): Promise<{ uri: string; key: string }> {
  const s = dc.settings;
  let byEndpoint = keys.get(dc.clients);
  if (byEndpoint === undefined) {
    byEndpoint = new Map();
    keys.set(dc.clients, byEndpoint);
  }
  const id = `${s.resourceGroup}/${s.workspace}/${s.name}`;
  let target = byEndpoint.get(id);
  if (target === undefined) {
    target = (async () => {
      const [endpoint, endpointKeys] = await Promise.all([
        call(`read online endpoint ${s.name}`, () =>
          dc.clients.ml.onlineEndpoints.get(s.resourceGroup, s.workspace, s.name),
        ),
        call(`list keys of ${s.name}`, () =>
          dc.clients.ml.onlineEndpoints.listKeys(s.resourceGroup, s.workspace, s.name),
        ),
      ]);
      const uri = endpoint.properties.scoringUri;
      const key = endpointKeys.primaryKey ?? endpointKeys.secondaryKey;
      if (uri === undefined || key === undefined) {
        throw new ModelportError('unavailable', `online endpoint ${s.name} has no scoring URI or key yet`, {
          hint: 'wait for `modelport status` to say ready',
        });
      }
      return { uri, key };
    })();
    byEndpoint.set(id, target);
    target.catch(() => byEndpoint?.delete(id));
  }
  return target;
}

/** Core error kinds of the scoring answers Azure documents (408 timeout, 424 model error, 429 too many requests). */
export function scoringErrorKind(
  status: number,
): 'timeout' | 'unavailable' | 'throttled' | 'auth' | 'notFound' | 'invalidInput' {
  if (status === 408) return 'timeout';
  if (status === 429) return 'throttled';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'notFound';
  if (status === 424 || status >= 500) return 'unavailable';
  return 'invalidInput';
}

/**
 * POSTs the body to the endpoint's scoring URI with its key, after checking the payload and timeout limits.
 * The deployment that answered (traffic split) is reported as `servedBy`.
 */
export async function invokeOnline(
  dc: DeploymentContext,
  manifest: LoadedEndpoint,
  request: InvokeRequest,
  http: HttpClient,
  agent: Agent | undefined,
): Promise<InvokeResponse> {
  const name = manifest.manifest.metadata.name;
  const limit = Math.min(ONLINE_LIMIT_BYTES, (manifest.manifest.spec.limits?.payloadMB ?? 1.5) * MIB);
  if (request.body.byteLength > limit) {
    throw new ModelportError(
      'invalidInput',
      `the payload is ${(request.body.byteLength / MIB).toFixed(2)} MB, above the ${(limit / MIB).toFixed(2)} MB endpoint ${name} accepts`,
      {
        hint: 'send smaller requests, or run a BatchJob over files (Azure ML batch endpoint)',
        details: { bytes: request.body.byteLength, limitBytes: limit },
      },
    );
  }
  const timeoutMs = request.timeoutMs ?? (manifest.manifest.spec.limits?.timeoutSeconds ?? 5) * 1000 + 5000;
  if (timeoutMs > MAX_TIMEOUT_MS + 5000) {
    throw new ModelportError('invalidInput', `a timeout of ${timeoutMs / 1000} s is above Azure ML's 180 s`, {
      hint: 'lower the timeout to 180 s or less, or use a BatchJob for long work',
    });
  }
  const target = await scoringTarget(dc);
  const started = performance.now();
  const response = await call(`invoke endpoint ${name}`, () =>
    http.sendRequest(
      withAgent(
        createPipelineRequest({
          url: target.uri,
          method: 'POST',
          headers: createHttpHeaders({
            authorization: `Bearer ${target.key}`,
            'content-type': request.contentType,
            ...(request.accept === undefined ? {} : { accept: request.accept }),
          }),
          body: request.body,
          timeout: timeoutMs,
          streamResponseStatusCodes: new Set([200]),
        }),
        agent,
      ),
    ),
  );
  const body =
    response.readableStreamBody === undefined
      ? Buffer.from(response.bodyAsText ?? '')
      : await readAll(response.readableStreamBody);
  if (response.status !== 200) {
    const kind = scoringErrorKind(response.status);
    throw new ModelportError(
      kind,
      `endpoint ${name} answered ${response.status}: ${body.toString('utf8').slice(0, 500)}`,
      {
        details: { status: response.status },
        ...(kind === 'unavailable' && response.status === 424
          ? {
              hint: 'the model container failed the request: see its logs (az ml online-deployment get-logs)',
            }
          : {}),
      },
    );
  }
  const servedBy = response.headers.get('azureml-model-deployment');
  return {
    status: 200,
    body: new Uint8Array(body),
    contentType: response.headers.get('content-type') ?? 'application/json',
    latencyMs: performance.now() - started,
    ...(servedBy === undefined ? {} : { servedBy }),
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The request options drop `agent`: it is set on the request itself (a CA the tests trust). */
export function withAgent(request: PipelineRequest, agent: Agent | undefined): PipelineRequest {
  if (agent !== undefined) request.agent = agent;
  return request;
}
