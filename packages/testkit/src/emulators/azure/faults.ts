import { EmulatorFaults, FaultCounter, takeReason } from '../shared/faults.js';
import type { FaultHook } from '../shared/faults.js';

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

export type AzureCallHook = FaultHook<AzureCallInfo>;

/**
 * Faults the tests switch on: 429 with Retry-After and 500 for the next N calls of an operation (`*` for any),
 * long-running operations that end Failed with a reason (per resource name or `*`), a forced LRO style,
 * batch jobs that fail, a latency per call, and hooks around calls.
 */
export class AzureFaults extends EmulatorFaults<AzureCallInfo> {
  /** When set, every long-running PUT/PATCH/DELETE uses this style instead of the resource type's own. */
  lroStyle: LroStyle | undefined;
  /** Retry-after (ms) of the throttled calls left, per operation. */
  private readonly throttles = new FaultCounter<number>();
  private readonly errors500 = new FaultCounter();
  private readonly operationFailures = new Map<string, string>();
  private readonly jobFailures = new Map<string, string>();

  /**
   * The next `times` calls of `operation` (e.g. `PUT onlineEndpoints`) answer 429 TooManyRequests with
   * `retry-after-ms` and `Retry-After` (whole seconds, at least 1), as ARM throttling does.
   */
  throttle(operation: string, times: number, retryAfterMs = 10): this {
    this.throttles.add(operation, times, retryAfterMs);
    return this;
  }

  /** The next `times` calls of `operation` answer 500 InternalServerError. */
  fail500(operation: string, times: number): this {
    this.errors500.add(operation, times, true);
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

  override reset(): void {
    super.reset();
    this.lroStyle = undefined;
    this.throttles.clear();
    this.errors500.clear();
    this.operationFailures.clear();
    this.jobFailures.clear();
  }

  /** @internal */
  takeThrottle(operation: string): number | undefined {
    return this.throttles.take(operation);
  }

  /** @internal */
  take500(operation: string): boolean {
    return this.errors500.take(operation) ?? false;
  }

  /** @internal */
  takeOperationFailure(name: string): string | undefined {
    return takeReason(this.operationFailures, name);
  }

  /** @internal */
  takeJobFailure(endpoint: string): string | undefined {
    return takeReason(this.jobFailures, endpoint);
  }
}
