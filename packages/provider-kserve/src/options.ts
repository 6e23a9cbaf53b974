/** How the provider reaches the cluster and how patiently it waits. */
export interface KserveProviderOptions {
  /** A kubeconfig file; absent: the default loader (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfigPath?: string;
  /** Between readiness polls (MODELPORT_KSERVE_POLL_MS, default 2000). */
  pollIntervalMs: number;
  /** Longest wait for Ready or for a delete to finish (MODELPORT_KSERVE_TIMEOUT_MS, default 15 min). */
  waitTimeoutMs: number;
}

export const DEFAULT_OPTIONS: KserveProviderOptions = { pollIntervalMs: 2000, waitTimeoutMs: 15 * 60_000 };

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): KserveProviderOptions {
  return {
    pollIntervalMs: positive(env['MODELPORT_KSERVE_POLL_MS']) ?? DEFAULT_OPTIONS.pollIntervalMs,
    waitTimeoutMs: positive(env['MODELPORT_KSERVE_TIMEOUT_MS']) ?? DEFAULT_OPTIONS.waitTimeoutMs,
  };
}

function positive(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
