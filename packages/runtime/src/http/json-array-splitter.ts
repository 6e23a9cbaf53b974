import { DEFAULT_MAX_LINE_BYTES } from '../batch/line-reader.js';
import { RequestError } from '../errors.js';
import { formatBytes } from './read-body.js';

interface Frame {
  array: boolean;
  /** Keys from the root when every container above is an object; undefined inside arrays. */
  path: readonly string[] | undefined;
  /** Object frames: the last key read, and whether a key comes next. */
  key: string | undefined;
  expectKey: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const STRING_STOP = stops('"\\');
const NESTED_STOP = stops('"[]{}');
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Streams the elements of one array of a JSON document as the bytes arrive: the root array, or the array
 * at a key path such as `["instances"]`. Each element is cut out and JSON.parse'd on its own, so a body
 * of any size is never one string. The first target array in document order is the one streamed (the
 * buffered parser prefers keys by rank: bodies holding several targets are the only ones that differ).
 * The rest of the document is scanned for its brackets and strings, not fully validated.
 */
export class JsonArraySplitter {
  /** The path of the streamed array, once found. */
  found: readonly string[] | undefined;
  private readonly targets: Set<string>;
  private readonly stack: Frame[] = [];
  /** Stack depth of the target array while inside it, else -1. */
  private targetDepth = -1;
  private inString = false;
  private escape = false;
  private rootDone = false;
  /** Absolute offset of the current chunk. */
  private offset = 0;
  private count = 0;
  // An element being cut out: its bytes from earlier chunks, and its start in the current chunk.
  private inElement = false;
  /** Inside the target array, right after a comma (an element must follow). */
  private afterComma = false;
  private elementParts: Buffer[] = [];
  private elementBytes = 0;
  private elementStart = 0;
  // A key being read (only where its path matters).
  private inKey = false;
  private keyParts: Buffer[] = [];
  private keyStart = 0;

  constructor(
    paths: readonly (readonly string[])[],
    private readonly onElement: (value: unknown, bytes: number) => void,
    private readonly maxElementBytes = DEFAULT_MAX_LINE_BYTES,
  ) {
    this.targets = new Set(paths.map(pathKey));
  }

  push(chunk: Buffer): void {
    const stack = this.stack;
    let top = stack[stack.length - 1];
    this.elementStart = 0;
    this.keyStart = 0;
    const length = chunk.length;
    for (let i = 0; i < length; i++) {
      // Fast skips (most of a large body): inside a string only its end or an escape matters; inside a
      // container nested in an element only brackets, braces and quotes do.
      if (this.inString) {
        if (!this.escape) while (i < length && STRING_STOP[chunk[i] as number] === 0) i++;
      } else if (this.targetDepth !== -1 && stack.length > this.targetDepth) {
        while (i < length && NESTED_STOP[chunk[i] as number] === 0) i++;
      }
      if (i === length) break;
      const c = chunk[i] as number;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.inKey) this.endKey(chunk, i + 1, top as Frame);
        }
        continue;
      }
      if (isSpace(c)) continue;
      if (this.targetDepth === stack.length) {
        // Directly inside the target array: between elements, or at the end of one.
        if (c === 0x2c || c === 0x5d) {
          if (this.inElement) this.endElement(chunk, i);
          else if (c === 0x2c || this.afterComma) this.fail(i, `unexpected ${c === 0x2c ? "','" : "']'"}`);
          this.afterComma = c === 0x2c;
        }
        if (c === 0x2c) continue;
        if (c === 0x5d) {
          stack.pop();
          top = stack[stack.length - 1];
          this.targetDepth = -1;
          if (top === undefined) this.rootDone = true;
          continue;
        }
        if (!this.inElement) {
          this.inElement = true;
          this.elementStart = i;
        }
      }
      if (this.rootDone)
        this.fail(i, `unexpected ${JSON.stringify(String.fromCharCode(c))} after the end of the value`);
      switch (c) {
        case QUOTE:
          if (top === undefined) this.fail(i, 'expected a JSON object or array');
          this.inString = true;
          if (top !== undefined && !top.array && top.expectKey && top.path !== undefined) {
            this.inKey = true;
            this.keyStart = i;
          }
          break;
        case 0x7b: // {
        case 0x5b: {
          // [
          const path = this.childPath(top);
          top = { array: c === 0x5b, path, key: undefined, expectKey: c === 0x7b };
          stack.push(top);
          if (
            top.array &&
            this.found === undefined &&
            path !== undefined &&
            this.targets.has(pathKey(path))
          ) {
            this.found = path;
            this.targetDepth = stack.length;
          }
          break;
        }
        case 0x7d: // }
        case 0x5d: // ]
          if (top === undefined || top.array !== (c === 0x5d)) {
            this.fail(i, `unexpected ${JSON.stringify(String.fromCharCode(c))}`);
          }
          stack.pop();
          top = stack[stack.length - 1];
          if (top === undefined) this.rootDone = true;
          break;
        case 0x3a: // :
          if (top !== undefined && !top.array) top.expectKey = false;
          break;
        case 0x2c: // ,
          if (top !== undefined && !top.array) top.expectKey = true;
          break;
        default:
          if (top === undefined) this.fail(i, 'expected a JSON object or array');
      }
    }
    if (this.inElement) this.keepPart(this.elementParts, chunk.subarray(this.elementStart), 'element');
    if (this.inKey) this.keepPart(this.keyParts, chunk.subarray(this.keyStart), 'key');
    this.offset += chunk.length;
  }

  /** Checks that the document is complete; `found` then tells whether the target array was there. */
  end(): void {
    if (this.inString || this.stack.length > 0 || !this.rootDone) {
      throw new RequestError(
        `malformed JSON at byte ${this.offset}: unexpected end of input`,
        'malformed_json',
      );
    }
  }

  private childPath(top: Frame | undefined): readonly string[] | undefined {
    if (top === undefined) return [];
    if (top.array || top.path === undefined || top.key === undefined) return undefined;
    return [...top.path, top.key];
  }

  private endKey(chunk: Buffer, end: number, top: Frame): void {
    this.inKey = false;
    const bytes = this.take(this.keyParts, chunk.subarray(this.keyStart, end));
    try {
      top.key = JSON.parse(bytes.toString('utf8')) as string;
    } catch {
      this.fail(end, 'invalid string in a property name');
    }
  }

  private endElement(chunk: Buffer, end: number): void {
    this.inElement = false;
    const bytes = this.take(this.elementParts, chunk.subarray(this.elementStart, end));
    this.elementBytes = 0;
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new RequestError(
        `malformed JSON in instance ${this.count} (at byte ${this.offset + end - bytes.length}): ${error instanceof Error ? error.message : String(error)}`,
        'malformed_json',
      );
    }
    this.count++;
    this.onElement(value, bytes.length);
  }

  private keepPart(parts: Buffer[], part: Buffer, what: 'element' | 'key'): void {
    parts.push(part);
    if (what === 'element') {
      this.elementBytes += part.length;
      if (this.elementBytes > this.maxElementBytes) {
        throw new RequestError(`instance ${this.count} is larger than ${formatBytes(this.maxElementBytes)}`);
      }
    }
  }

  private take(parts: Buffer[], last: Buffer): Buffer {
    if (parts.length === 0) return last;
    parts.push(last);
    const whole = Buffer.concat(parts);
    parts.length = 0;
    return whole;
  }

  private fail(i: number, reason: string): never {
    throw new RequestError(`malformed JSON at byte ${this.offset + i}: ${reason}`, 'malformed_json');
  }
}

function pathKey(path: readonly string[]): string {
  return JSON.stringify(path);
}

/** A byte table: 1 for the given ASCII characters. */
function stops(chars: string): Uint8Array {
  const table = new Uint8Array(256);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
}
