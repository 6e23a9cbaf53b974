import { DEFAULT_MAX_LINE_BYTES } from '../batch/line-reader.js';
import { RequestError } from '../errors.js';
import { formatBytes } from './read-body.js';

/**
 * Cuts a byte stream into lines as it arrives (`\n` or `\r\n`), decoding one line at a time: a body of
 * any size is never one string. Blank lines (spaces and tabs only) are skipped, as the batch runner does.
 */
export class LineSplitter {
  /** Bytes of the line that started in an earlier chunk. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  private line = 0;

  constructor(
    private readonly onLine: (text: string, line: number, bytes: number) => void,
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (this.partBytes > 0) {
        this.parts.push(chunk.subarray(start, newline));
        const whole = Buffer.concat(this.parts, this.partBytes + newline - start);
        this.parts = [];
        this.partBytes = 0;
        this.emit(whole, 0, whole.length);
      } else {
        this.emit(chunk, start, newline);
      }
      start = newline + 1;
    }
    if (start < chunk.length) {
      this.partBytes += chunk.length - start;
      if (this.partBytes > this.maxLineBytes) {
        throw new RequestError(`line ${this.line + 1} is longer than ${formatBytes(this.maxLineBytes)}`);
      }
      this.parts.push(start === 0 ? chunk : chunk.subarray(start));
    }
  }

  /** The last line, when the body does not end with a newline. */
  end(): void {
    if (this.partBytes === 0) return;
    const whole = Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    this.emit(whole, 0, whole.length);
  }

  private emit(buffer: Buffer, start: number, end: number): void {
    this.line++;
    if (end > start && buffer[end - 1] === 13) end--;
    let first = start;
    while (first < end && (buffer[first] === 0x20 || buffer[first] === 0x09)) first++;
    if (first === end) return;
    this.onLine(buffer.toString('utf8', start, end), this.line, end - start);
  }
}
