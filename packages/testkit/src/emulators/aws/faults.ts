/** A call the emulator is about to answer, as fault hooks see it. */
export interface CallInfo {
  service: string;
  operation: string;
  /** The parsed input (JSON members, or the REST members bound from URI, query and headers). */
  input: Record<string, unknown>;
}

export type CallHook = (call: CallInfo, phase: 'before' | 'after') => void | Promise<void>;

/**
 * Faults the tests switch on, per operation name (e.g. `CreateModel`, `PutObject`) or `*` for every one:
 * throttling and 500s for the next N calls, a latency per call, endpoints that stay in Creating or end in
 * Failed, an update that fails and rolls back, transform jobs that fail, and hooks around calls.
 */
export class Faults {
  /** Added to every call before it is answered (the bench sets 100 ms). */
  latencyMs = 0;
  private readonly throttles = new Map<string, number>();
  private readonly errors500 = new Map<string, number>();
  private readonly stuck = new Set<string>();
  private readonly createFailures = new Map<string, string>();
  private readonly updateFailures = new Map<string, string>();
  private readonly jobFailures = new Map<string, string>();
  private readonly hooks: CallHook[] = [];

  /** The next `times` calls of `operation` answer ThrottlingException (S3: 503 SlowDown). */
  throttle(operation: string, times: number): this {
    this.throttles.set(operation, (this.throttles.get(operation) ?? 0) + times);
    return this;
  }

  /** The next `times` calls of `operation` answer 500 InternalFailure. */
  fail500(operation: string, times: number): this {
    this.errors500.set(operation, (this.errors500.get(operation) ?? 0) + times);
    return this;
  }

  /** The endpoint stays in Creating (until `release`). */
  stuckCreating(endpointName: string): this {
    this.stuck.add(endpointName);
    return this;
  }

  release(endpointName: string): this {
    this.stuck.delete(endpointName);
    return this;
  }

  /** The next CreateEndpoint of this endpoint (or `*`) ends in Failed with `reason`. */
  failCreate(
    endpointName: string,
    reason = 'The primary container for production variant AllTraffic did not pass the ping health check.',
  ): this {
    this.createFailures.set(endpointName, reason);
    return this;
  }

  /** The next UpdateEndpoint of this endpoint (or `*`) fails: Updating → RollingBack → InService on the old config. */
  failNextUpdate(
    endpointName: string,
    reason = 'Request to service failed. If failure persists after retry, contact customer support.',
  ): this {
    this.updateFailures.set(endpointName, reason);
    return this;
  }

  /** The next transform or Batch job whose name starts with `prefix` (or `*`) ends Failed. */
  failJob(prefix: string, reason = 'ClientError: See job logs for more information'): this {
    this.jobFailures.set(prefix, reason);
    return this;
  }

  /** Called before and after every call (after: once the handler answered successfully). */
  onCall(hook: CallHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  reset(): void {
    this.latencyMs = 0;
    this.throttles.clear();
    this.errors500.clear();
    this.stuck.clear();
    this.createFailures.clear();
    this.updateFailures.clear();
    this.jobFailures.clear();
    this.hooks.length = 0;
  }

  /** @internal */
  takeThrottle(operation: string): boolean {
    return take(this.throttles, operation) || take(this.throttles, '*');
  }

  /** @internal */
  take500(operation: string): boolean {
    return take(this.errors500, operation) || take(this.errors500, '*');
  }

  /** @internal */
  isStuck(endpointName: string): boolean {
    return this.stuck.has(endpointName) || this.stuck.has('*');
  }

  /** @internal */
  takeCreateFailure(endpointName: string): string | undefined {
    return takeReason(this.createFailures, endpointName);
  }

  /** @internal */
  takeUpdateFailure(endpointName: string): string | undefined {
    return takeReason(this.updateFailures, endpointName);
  }

  /** @internal */
  takeJobFailure(jobName: string): string | undefined {
    for (const [prefix, reason] of this.jobFailures) {
      if (prefix === '*' || jobName.startsWith(prefix)) {
        this.jobFailures.delete(prefix);
        return reason;
      }
    }
    return undefined;
  }

  /** @internal */
  async runHooks(call: CallInfo, phase: 'before' | 'after'): Promise<void> {
    for (const hook of [...this.hooks]) await hook(call, phase);
  }
}

function take(counts: Map<string, number>, key: string): boolean {
  const left = counts.get(key) ?? 0;
  if (left <= 0) return false;
  if (left === 1) counts.delete(key);
  else counts.set(key, left - 1);
  return true;
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
