import type { InvokeRequest, InvokeResponse, ProviderContext } from '@modelport/core';
import { ModelportError } from '@modelport/core';
import type { LiveInferenceService } from './kube-client.js';

/**
 * A KServe v1 prediction: POST {status.url}/v1/models/{name}:predict. The model name is the
 * InferenceService's (the modelport image is started with `--name <metadata.name>`, and KServe's own
 * runtimes serve the model under the InferenceService name).
 */
export async function invokeInferenceService(
  isvc: LiveInferenceService,
  request: InvokeRequest,
  ctx: ProviderContext,
): Promise<InvokeResponse> {
  const base = isvc.status?.url;
  if (base === undefined) {
    throw new ModelportError(
      'unavailable',
      `inferenceservice ${isvc.metadata.name} has no URL yet (not Ready)`,
    );
  }
  const url = `${base.replace(/\/$/, '')}/v1/models/${encodeURIComponent(isvc.metadata.name)}:predict`;
  const signals = [
    ctx.signal,
    ...(request.timeoutMs === undefined ? [] : [AbortSignal.timeout(request.timeoutMs)]),
  ];
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': request.contentType,
        ...(request.accept === undefined ? {} : { accept: request.accept }),
      },
      body: request.body,
      signal: AbortSignal.any(signals),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new ModelportError(
      timedOut ? 'timeout' : 'unavailable',
      `cannot call ${url}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const body = new Uint8Array(await response.arrayBuffer());
  const latencyMs = performance.now() - started;
  const revision =
    response.headers.get('x-kserve-revision') ?? response.headers.get('knative-serving-revision');
  return {
    status: response.status,
    body,
    contentType: response.headers.get('content-type') ?? 'application/octet-stream',
    latencyMs,
    ...(revision === null ? {} : { servedBy: revision }),
  };
}
