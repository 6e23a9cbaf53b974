/** Long-running-operation styles of ARM: answered at once, or polled through one of two headers. */
export type LroStyle = 'sync' | 'azure-async-operation' | 'location';

/** A call the emulator is about to answer, as hooks see it. */
export interface AzureCallInfo {
  /** e.g. `PUT onlineEndpoints/deployments`, `POST onlineEndpoints/listKeys`, `POST score`. */
  operation: string;
  method: string;
  path: string;
  /** Name of the resource addressed (the last path segment). */
  name: string;
}

export type AzureCallHook = (call: AzureCallInfo, phase: 'before' | 'after') => void | Promise<void>;

/**
 * Faults the tests switch on: 429 with Retry-After and 500 for the next N calls of an operation (`*` for any),
 * long-running operations that end Failed with a reason (per resource name or `*`), a forced LRO style,
 * batch jobs that fail, a latency per call, and hooks around calls.
 */
export class AzureFaults {
  /** Added to every call before it is answered (the bench sets 100 ms). */
  latencyMs = 0;
  /** When set, every long-running PUT/PATCH/DELETE uses this style instead of the resource type's own. */
  lroStyle: LroStyle | undefined;
  private readonly throttles = new Map<string, { times: number; retryAfterMs: number }>();
  private readonly errors500 = new Map<string, number>();
  private readonly operationFailures = new Map<string, string>();
  private readonly jobFailures = new Map<string, string>();
  private readonly hooks: AzureCallHook[] = [];

  /**
   * The next `times` calls of `operation` (e.g. `PUT onlineEndpoints`) answer 429 TooManyRequests with
   * `retry-after-ms` and `Retry-After` (whole seconds, at least 1), as ARM throttling does.
   */
  throttle(operation: string, times: number, retryAfterMs = 10): this {
    const current = this.throttles.get(operation)?.times ?? 0;
    this.throttles.set(operation, { times: current + times, retryAfterMs });
    return this;
  }

  /** The next `times` calls of `operation` answer 500 InternalServerError. */
  fail500(operation: string, times: number): this {
    this.errors500.set(operation, (this.errors500.get(operation) ?? 0) + times);
    return this;
  }

  /** The next long-running PUT of a resource named `name` (or `*`) ends with provisioningState Failed. */
  failOperation(
    name: string,
    reason = 'ResourceNotReady: User container has crashed or terminated. Please see troubleshooting guide.',
  ): this {
    this.operationFailures.set(name, reason);
    return this;
  }

  /** The next batch job of the endpoint `endpoint` (or `*`) ends Failed. */
  failJob(endpoint: string, reason = 'UserError: the scoring script failed on every mini-batch'): this {
    this.jobFailures.set(endpoint, reason);
    return this;
  }

  onCall(hook: AzureCallHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  reset(): void {
    this.latencyMs = 0;
    this.lroStyle = undefined;
    this.throttles.clear();
    this.errors500.clear();
    this.operationFailures.clear();
    this.jobFailures.clear();
    this.hooks.length = 0;
  }

  /** @internal */
  takeThrottle(operation: string): number | undefined {
    for (const key of [operation, '*']) {
      const entry = this.throttles.get(key);
      if (entry === undefined || entry.times <= 0) continue;
      entry.times--;
      if (entry.times === 0) this.throttles.delete(key);
      return entry.retryAfterMs;
    }
    return undefined;
  }

  /** @internal */
  take500(operation: string): boolean {
    for (const key of [operation, '*']) {
      const left = this.errors500.get(key) ?? 0;
      if (left <= 0) continue;
      if (left === 1) this.errors500.delete(key);
      else this.errors500.set(key, left - 1);
      return true;
    }
    return false;
  }

  /** @internal */
  takeOperationFailure(name: string): string | undefined {
    return takeReason(this.operationFailures, name);
  }

  /** @internal */
  takeJobFailure(endpoint: string): string | undefined {
    return takeReason(this.jobFailures, endpoint);
  }

  /** @internal */
  async runHooks(call: AzureCallInfo, phase: 'before' | 'after'): Promise<void> {
    for (const hook of [...this.hooks]) await hook(call, phase);
  }
}

function takeReason(reasons: Map<string, string>, name: string): string | undefined {
  for (const key of [name, '*']) {
    const reason = reasons.get(key);
    if (reason !== undefined) {
      reasons.delete(key);
      return reason;
    }
  }
  return undefined;
}
