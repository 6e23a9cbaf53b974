import { EmulatorFaults, FaultCounter, takeReason, takeReasonByPrefix } from '../shared/faults.js';
import type { FaultHook } from '../shared/faults.js';

/** A call the emulator is about to answer, as fault hooks see it. */
export interface CallInfo {
  service: string;
  operation: string;
  /** The parsed input (JSON members, or the REST members bound from URI, query and headers). */
  input: Record<string, unknown>;
}

export type CallHook = FaultHook<CallInfo>;

/**
 * Faults the tests switch on, per operation name (e.g. `CreateModel`, `PutObject`) or `*` for every one:
 * throttling and 500s for the next N calls, a latency per call, endpoints that stay in Creating or end in
 * Failed, an update that fails and rolls back, transform jobs that fail, and hooks around calls.
 */
export class Faults extends EmulatorFaults<CallInfo> {
  private readonly throttles = new FaultCounter();
  private readonly errors500 = new FaultCounter();
  private readonly stuck = new Set<string>();
  private readonly createFailures = new Map<string, string>();
  private readonly updateFailures = new Map<string, string>();
  private readonly jobFailures = new Map<string, string>();

  /** The next `times` calls of `operation` answer ThrottlingException (S3: 503 SlowDown). */
  throttle(operation: string, times: number): this {
    this.throttles.add(operation, times, true);
    return this;
  }

  /** The next `times` calls of `operation` answer 500 InternalFailure. */
  fail500(operation: string, times: number): this {
    this.errors500.add(operation, times, true);
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

  override reset(): void {
    super.reset();
    this.throttles.clear();
    this.errors500.clear();
    this.stuck.clear();
    this.createFailures.clear();
    this.updateFailures.clear();
    this.jobFailures.clear();
  }

  /** @internal */
  takeThrottle(operation: string): boolean {
    return this.throttles.take(operation) ?? false;
  }

  /** @internal */
  take500(operation: string): boolean {
    return this.errors500.take(operation) ?? false;
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
    return takeReasonByPrefix(this.jobFailures, jobName);
  }
}
