/**
 * What the emulators' fault injection shares, whatever the cloud: a latency per call, hooks around calls,
 * counters of the next N calls that fail, and one-shot failure reasons keyed by name, by prefix or `*`.
 * How a fault is answered on the wire (HTTP JSON error, ARM error, gRPC status) stays with each emulator.
 */

export type FaultHook<Call> = (call: Call, phase: 'before' | 'after') => void | Promise<void>;

/** Latency and call hooks; each cloud's fault class extends it with its own faults. */
export abstract class EmulatorFaults<Call> {
  /** Added to every call before it is answered (the bench sets 100 ms). */
  latencyMs = 0;
  private readonly hooks: FaultHook<Call>[] = [];

  /** Called before and after every call (after: once the handler answered successfully). */
  onCall(hook: FaultHook<Call>): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Every fault off, no latency, no hooks. */
  reset(): void {
    this.latencyMs = 0;
    this.hooks.length = 0;
  }

  /** @internal Waits `latencyMs` (when set) before a call is answered. */
  async waitLatency(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
  }

  /** @internal */
  async runHooks(call: Call, phase: 'before' | 'after'): Promise<void> {
    for (const hook of [...this.hooks]) await hook(call, phase);
  }
}

/**
 * How many of the next calls of an operation (or of `*`, any operation) fail, each with a value the wire
 * answer needs (e.g. a Retry-After); adding to an operation adds to its count and replaces its value.
 */
export class FaultCounter<V = true> {
  private readonly counts = new Map<string, { left: number; value: V }>();

  add(operation: string, times: number, value: V): void {
    this.counts.set(operation, { left: (this.counts.get(operation)?.left ?? 0) + times, value });
  }

  /** Uses one failure of `operation`, else of `*`: its value, or undefined when neither has one left. */
  take(operation: string): V | undefined {
    for (const key of [operation, '*']) {
      const entry = this.counts.get(key);
      if (entry === undefined || entry.left <= 0) continue;
      entry.left--;
      if (entry.left === 0) this.counts.delete(key);
      return entry.value;
    }
    return undefined;
  }

  clear(): void {
    this.counts.clear();
  }
}

/** Takes (removes and returns) the reason set for `name`, else the one set for `*`. */
export function takeReason(reasons: Map<string, string>, name: string): string | undefined {
  for (const key of [name, '*']) {
    const reason = reasons.get(key);
    if (reason !== undefined) {
      reasons.delete(key);
      return reason;
    }
  }
  return undefined;
}

/** Takes the first reason, in insertion order, whose key is `*` or a prefix of `name`. */
export function takeReasonByPrefix(reasons: Map<string, string>, name: string): string | undefined {
  for (const [prefix, reason] of reasons) {
    if (prefix === '*' || name.startsWith(prefix)) {
      reasons.delete(prefix);
      return reason;
    }
  }
  return undefined;
}
