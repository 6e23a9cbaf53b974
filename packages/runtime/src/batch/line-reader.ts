import type { FileHandle } from 'node:fs/promises';

export const DEFAULT_READ_BUFFER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a file line by line from a byte offset with one large buffer, exposing each line as a byte range
 * of `buffer` (no string per line unless the caller makes one). `nextLine()` is synchronous; when it
 * returns false, `fill()` reads more, and returns false at the end of the file.
 */
export class LineReader {
  buffer: Buffer;
  /** The current line is `buffer[lineStart, lineEnd)`, without its `\n` or `\r\n`. */
  lineStart = 0;
  lineEnd = 0;
  /** 1-based number of the current line in the file. */
  lineNumber: number;
  /** True when the current line was longer than `maxLineBytes`; its bytes are not available. */
  oversized = false;
  private view: Buffer;
  private start = 0;
  private end = 0;
  /** File offset of `buffer[0]`. */
  private base: number;
  private eof = false;
  private discarding = false;

  constructor(
    private readonly file: FileHandle,
    offset: number,
    linesBefore: number,
    bufferBytes = DEFAULT_READ_BUFFER_BYTES,
    private readonly maxLineBytes = Math.max(DEFAULT_MAX_LINE_BYTES, bufferBytes),
  ) {
    this.buffer = Buffer.allocUnsafe(bufferBytes);
    this.view = this.buffer.subarray(0, 0);
    this.base = offset;
    this.lineNumber = linesBefore;
  }

  /** File offset just past the current line (where a resumed read starts). */
  get offsetAfterLine(): number {
    return this.base + this.start;
  }

  nextLine(): boolean {
    if (this.discarding && !this.skipRestOfLongLine()) return false;
    const start = this.start;
    if (start >= this.end) return false;
    const newline = this.view.indexOf(10, start);
    let end: number;
    if (newline === -1) {
      if (!this.eof) return false;
      end = this.end;
      this.start = this.end;
    } else {
      end = newline;
      this.start = newline + 1;
    }
    if (end > start && this.buffer[end - 1] === 13) end--;
    this.lineStart = start;
    this.lineEnd = end;
    this.lineNumber++;
    this.oversized = false;
    return true;
  }

  async fill(): Promise<boolean> {
    if (this.eof) return false;
    const pending = this.end - this.start;
    if (this.start > 0) {
      this.buffer.copy(this.buffer, 0, this.start, this.end);
      this.base += this.start;
      this.start = 0;
      this.end = pending;
    }
    if (this.end === this.buffer.length) {
      if (this.buffer.length >= this.maxLineBytes) {
        // A line longer than allowed: report it as one (oversized) line and drop its bytes up to the newline.
        this.lineNumber++;
        this.oversized = true;
        this.lineStart = this.lineEnd = 0;
        this.base += this.end;
        this.start = this.end = 0;
        this.discarding = true;
      } else {
        const bigger = Buffer.allocUnsafe(Math.min(this.buffer.length * 2, this.maxLineBytes));
        this.buffer.copy(bigger, 0, 0, this.end);
        this.buffer = bigger;
      }
    }
    const { bytesRead } = await this.file.read(
      this.buffer,
      this.end,
      this.buffer.length - this.end,
      this.base + this.end,
    );
    if (bytesRead === 0) this.eof = true;
    this.end += bytesRead;
    this.view = this.buffer.subarray(0, this.end);
    return true;
  }

  /** True when an oversized line was just reported by `fill()` and must be handled before `nextLine()`. */
  takeOversized(): boolean {
    if (!this.oversized || !this.discarding) return false;
    this.oversized = false;
    return true;
  }

  private skipRestOfLongLine(): boolean {
    const newline = this.view.indexOf(10, this.start);
    if (newline === -1) {
      this.start = this.end;
      if (this.eof) this.discarding = false;
      return false;
    }
    this.start = newline + 1;
    this.discarding = false;
    return true;
  }
}
