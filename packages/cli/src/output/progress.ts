import type { EngineEvent } from '@modelport/core';
import type { Style } from './style.js';

/**
 * Renders engine events: on a TTY one live status line for running actions, otherwise plain
 * timestamped lines (CI logs). Either way finished actions leave one line each.
 */
export class ProgressRenderer {
  private readonly running = new Map<
    string,
    { started: number; message: string; fraction?: number; printed?: number }
  >();
  private statusShown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly style: Style,
    private readonly options: { verbose?: boolean } = {},
  ) {}

  private get live(): boolean {
    return this.stream.isTTY === true && process.env['TERM'] !== 'dumb';
  }

  readonly onEvent = (event: EngineEvent): void => {
    switch (event.type) {
      case 'action.start':
        this.running.set(event.action.id, {
          started: Date.now(),
          message: `${event.action.kind} ${event.action.id}`,
        });
        if (!this.live)
          this.line(
            `${event.action.kind} ${event.action.id}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}...`,
          );
        break;
      case 'action.progress': {
        const entry = this.running.get(event.action.id);
        if (entry !== undefined) {
          entry.message = `${event.action.id}: ${event.message}`;
          if (event.fraction !== undefined) entry.fraction = event.fraction;
        }
        // Plain logs get at most one progress line per action per second (a batch job reports per
        // micro-batch), plus the final one.
        const now = Date.now();
        if (
          !this.live &&
          (entry?.printed === undefined || now - entry.printed >= 1000 || event.fraction === 1)
        ) {
          if (entry !== undefined) entry.printed = now;
          this.line(`  ${event.action.id}: ${event.message}`);
        }
        break;
      }
      case 'action.retry':
        this.line(
          this.style.yellow(
            `  ${event.action.id}: ${event.error.message}; retrying in ${event.delayMs} ms (attempt ${event.attempt + 1})`,
          ),
        );
        break;
      case 'action.done': {
        this.running.delete(event.action.id);
        this.line(
          `${this.style.green('✓')} ${event.action.kind} ${event.action.id} ${this.style.dim(`(${(event.durationMs / 1000).toFixed(1)} s)`)}`,
        );
        break;
      }
      case 'action.failed':
        this.running.delete(event.action.id);
        this.line(`${this.style.red('✗')} ${event.action.kind} ${event.action.id}: ${event.error.message}`);
        break;
      case 'rollback.start':
        this.line(this.style.yellow(`rolling back: removing ${event.actions} resource(s) this run created`));
        break;
      case 'rollback.done':
        if (event.undone.length > 0) this.line(this.style.yellow(`rolled back: ${event.undone.join(', ')}`));
        if (event.failed.length > 0)
          this.line(
            this.style.red(
              `could not roll back: ${event.failed.join(', ')} (remove with \`modelport destroy\`)`,
            ),
          );
        break;
      case 'log':
        if (event.level === 'warn') this.line(this.style.yellow(event.message));
        else if (this.options.verbose === true) this.line(this.style.dim(event.message));
        break;
      default:
        break;
    }
    this.refresh();
  };

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.clearStatus();
  }

  private line(text: string): void {
    this.clearStatus();
    const stamp = this.live ? '' : `${new Date().toISOString().slice(11, 19)} `;
    this.stream.write(`${stamp}${text}\n`);
  }

  private refresh(): void {
    if (!this.live) return;
    if (this.running.size === 0) {
      this.stop();
      return;
    }
    this.timer ??= setInterval(() => this.drawStatus(), 100);
    this.timer.unref();
    this.drawStatus();
  }

  private drawStatus(): void {
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    const frame = frames[Math.floor(Date.now() / 100) % frames.length] ?? '-';
    const parts = [...this.running.values()].map((r) => {
      const seconds = ((Date.now() - r.started) / 1000).toFixed(0);
      const bar = r.fraction === undefined ? '' : ` ${progressBar(r.fraction)}`;
      return `${r.message}${bar} ${seconds}s`;
    });
    const width = this.stream.columns ?? 100;
    const text = `${frame} ${parts.join(' | ')}`.slice(0, width - 1);
    this.stream.write(`\r\u001b[2K${this.style.cyan(text)}`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (this.statusShown) this.stream.write('\r\u001b[2K');
    this.statusShown = false;
  }
}

export function progressBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}%`;
}
