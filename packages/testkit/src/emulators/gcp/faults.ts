import { status } from '@grpc/grpc-js';
import { EmulatorFaults, takeReason, takeReasonByPrefix } from '../shared/faults.js';
import type { FaultHook } from '../shared/faults.js';

/** A call the Vertex emulator is about to answer, as hooks see it. */
export interface GcpCallInfo {
  /** `ModelService`, `EndpointService`, ..., `Operations`, or `storage`. */
  service: string;
  method: string;
  request: Record<string, unknown>;
}

export type GcpCallHook = FaultHook<GcpCallInfo>;

/**
 * Faults the tests switch on, per method name (`DeployModel`, `UploadModel`, ...) or `*`: UNAVAILABLE and
 * RESOURCE_EXHAUSTED for the next N calls, a latency per call, long-running operations that end in an
 * error, batch jobs that fail, and hooks around calls.
 */
export class GcpFaults extends EmulatorFaults<GcpCallInfo> {
  private readonly codes = new Map<string, { code: status; left: number }[]>();
  private readonly operationFailures = new Map<string, string>();
  private readonly jobFailures = new Map<string, string>();

  /** The next `times` calls of `method` answer UNAVAILABLE. */
  unavailable(method: string, times = 1): this {
    return this.failWith(method, status.UNAVAILABLE, times);
  }

  /** The next `times` calls of `method` answer RESOURCE_EXHAUSTED (quota / rate limit). */
  resourceExhausted(method: string, times = 1): this {
    return this.failWith(method, status.RESOURCE_EXHAUSTED, times);
  }

  failWith(method: string, code: status, times: number): this {
    const list = this.codes.get(method) ?? [];
    list.push({ code, left: times });
    this.codes.set(method, list);
    return this;
  }

  /** The next long-running operation of `method` (or `*`) ends with an error instead of its result. */
  failOperation(
    method: string,
    message = 'Model server never became ready. Please check the container logs.',
  ): this {
    this.operationFailures.set(method, message);
    return this;
  }

  /** The next batch prediction job whose display name starts with `prefix` (or `*`) ends JOB_STATE_FAILED. */
  failJob(
    prefix: string,
    message = 'Batch prediction job failed: the model container exited with code 1.',
  ): this {
    this.jobFailures.set(prefix, message);
    return this;
  }

  override reset(): void {
    super.reset();
    this.codes.clear();
    this.operationFailures.clear();
    this.jobFailures.clear();
  }

  /** @internal */
  takeCode(method: string): status | undefined {
    for (const key of [method, '*']) {
      const list = this.codes.get(key);
      const first = list?.[0];
      if (list === undefined || first === undefined) continue;
      first.left--;
      if (first.left <= 0) list.shift();
      if (list.length === 0) this.codes.delete(key);
      return first.code;
    }
    return undefined;
  }

  /** @internal */
  takeOperationFailure(method: string): string | undefined {
    return takeReason(this.operationFailures, method);
  }

  /** @internal */
  takeJobFailure(displayName: string): string | undefined {
    return takeReasonByPrefix(this.jobFailures, displayName);
  }
}
