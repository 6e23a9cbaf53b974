/**
 * Delayed state transitions of the emulated services (Creating → InService, InProgress → Completed). Kept
 * in one place so stopping the emulator cancels them all and no timer outlives a test.
 */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(readonly transitionMs: number) {}

  /** Runs `fn` after the transition delay (or `ms`); errors are the caller's to catch inside `fn`. */
  later(fn: () => void | Promise<void>, ms = this.transitionMs): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      if (!this.stopped) void Promise.resolve().then(fn);
    }, ms);
    this.pending.add(timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
