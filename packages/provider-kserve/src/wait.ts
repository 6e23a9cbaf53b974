import type { ProviderContext } from '@modelport/core';
import { DeploymentState, ModelportError } from '@modelport/core';
import { describeReady, stateOf } from './conditions.js';
import type { KubeClient, LiveInferenceService } from './kube-client.js';
import type { KserveProviderOptions } from './options.js';

/** Polls until the InferenceService is Ready for its current generation; Ready=False for it is a failure. */
export async function waitReady(
  client: KubeClient,
  namespace: string,
  name: string,
  options: KserveProviderOptions,
  ctx: ProviderContext,
): Promise<LiveInferenceService> {
  const deadline = Date.now() + options.waitTimeoutMs;
  for (;;) {
    const isvc = await client.get(namespace, name);
    if (isvc === undefined) {
      throw new ModelportError(
        'notFound',
        `inferenceservice ${namespace}/${name} disappeared while waiting for it`,
      );
    }
    const state = stateOf(isvc);
    if (state === DeploymentState.Ready) return isvc;
    if (state === DeploymentState.Failed) {
      throw new ModelportError(
        'unavailable',
        `inferenceservice ${namespace}/${name} failed: ${describeReady(isvc)}`,
        {
          retryable: false,
          hint: `kubectl -n ${namespace} describe inferenceservice ${name}`,
          details: { conditions: isvc.status?.conditions ?? [] },
        },
      );
    }
    ctx.progress(`${namespace}/${name}: ${describeReady(isvc)}`);
    await pause(
      deadline,
      options.pollIntervalMs,
      ctx,
      `inferenceservice ${namespace}/${name} is not Ready (${describeReady(isvc)})`,
    );
  }
}

/** Polls until the InferenceService is gone (deletion runs finalizers). */
export async function waitGone(
  client: KubeClient,
  namespace: string,
  name: string,
  options: KserveProviderOptions,
  ctx: ProviderContext,
): Promise<void> {
  const deadline = Date.now() + options.waitTimeoutMs;
  while ((await client.get(namespace, name)) !== undefined) {
    await pause(
      deadline,
      options.pollIntervalMs,
      ctx,
      `inferenceservice ${namespace}/${name} is still being deleted`,
    );
  }
}

async function pause(
  deadline: number,
  ms: number,
  ctx: ProviderContext,
  timeoutMessage: string,
): Promise<void> {
  if (Date.now() + ms > deadline) {
    throw new ModelportError('timeout', `${timeoutMessage} after waiting`, {
      retryable: false,
      hint: 'raise MODELPORT_KSERVE_TIMEOUT_MS, or look at the cluster events',
    });
  }
  if (ctx.signal.aborted) throw new ModelportError('timeout', 'cancelled', { cause: ctx.signal.reason });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', done);
      resolve();
    }
    ctx.signal.addEventListener('abort', done, { once: true });
  });
}
