// The hot path of a JSON prediction request: `{"instances": [[5.1, 3.5, 1.4, 0.2], ...]}` (or, where the
// protocol allows it, a bare `[[...], ...]`) scanned byte by byte straight into one typed array, with no
// JSON.parse and no arrays of boxed numbers. Anything else, or anything unusual (other fields, strings,
// rows of another size, escapes, a number JSON does not allow), returns undefined: the caller then takes
// the JSON.parse path, which also gives the error message. On what it accepts the values equal JSON.parse's
// stored into the same typed array (numbers are decoded exactly, or by Number() of the same text).
import { numberEnd, parseJsonNumber } from '../batch/number-row-parser.js';
import type { RowLayout } from '../onnx-model.js';

export interface ScannedRows {
  data: Float32Array | Float64Array;
  /** Rows in `data` (its length may be larger: spare capacity). */
  count: number;
}

const INSTANCES = Buffer.from('"instances"');

const EMPTY = new Uint8Array(0);
const EMPTY_ROWS = new Float32Array(0);
let i = 0;
let buf: Uint8Array = EMPTY;
let end = 0;
let out: Float32Array | Float64Array = EMPTY_ROWS;
let filled = 0;

const skip = (): void => {
  let c: number;
  while (i < end && ((c = buf[i] as number) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) i++;
};

function grow(extra: number): void {
  if (filled + extra <= out.length) return;
  const next = new (out.constructor as Float32ArrayConstructor)(Math.max(out.length * 2, filled + extra));
  next.set(out.subarray(0, filled));
  out = next;
}

/** `[n, n, ...]` with exactly `size` numbers, written at `filled`. */
function numbers(size: number): boolean {
  if (buf[i] !== 0x5b) return false;
  i++;
  for (let k = 0; k < size; k++) {
    skip();
    const value = parseJsonNumber(buf, i, end);
    if (value !== value) return false;
    out[filled++] = value;
    i = numberEnd();
    skip();
    const c = buf[i];
    i++;
    if (c === 0x2c) {
      if (k === size - 1) return false; // more numbers than the row holds
      continue;
    }
    return c === 0x5d && k === size - 1;
  }
  return false;
}

/** One level of a nested instance: dims[level] elements, each the next level (numbers at the last). */
function nested(dims: readonly number[], level: number): boolean {
  const n = dims[level] as number;
  if (level === dims.length - 1) return numbers(n);
  if (buf[i] !== 0x5b) return false;
  i++;
  for (let k = 0; k < n; k++) {
    skip();
    if (!nested(dims, level + 1)) return false;
    skip();
    const c = buf[i];
    i++;
    if (c === 0x2c) {
      if (k === n - 1) return false;
      continue;
    }
    return c === 0x5d && k === n - 1;
  }
  return false;
}

function row(layout: RowLayout): boolean {
  grow(layout.rowSize);
  if (layout.dims.length === 1) return numbers(layout.rowSize);
  // `[` then a number: a flat row, where the model takes one; `[` then `[`: nested as the dims say.
  let j = i + 1;
  let c: number;
  while (j < end && ((c = buf[j] as number) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) j++;
  if (buf[j] === 0x5b) return nested(layout.dims, 0);
  return layout.flat && numbers(layout.rowSize);
}

/** `[row, row, ...]`, at least one row. */
function rows(layout: RowLayout): number {
  if (buf[i] !== 0x5b) return -1;
  i++;
  let count = 0;
  for (;;) {
    skip();
    if (!row(layout)) return -1;
    count++;
    skip();
    const c = buf[i];
    i++;
    if (c === 0x2c) continue;
    return c === 0x5d ? count : -1;
  }
}

/**
 * The rows of `body` when it is exactly `{"instances": [rows]}` (or `[rows]` when `bare` is allowed) with
 * every row of the model's `layout`; undefined otherwise (parse it with JSON.parse then).
 */
export function scanInstances(body: Uint8Array, layout: RowLayout, bare: boolean): ScannedRows | undefined {
  buf = body;
  end = body.length;
  i = 0;
  filled = 0;
  out =
    layout.dtype === 'float32'
      ? new Float32Array(Math.min(layout.rowSize * 16, 1 << 20))
      : new Float64Array(Math.min(layout.rowSize * 16, 1 << 20));
  try {
    skip();
    let count: number;
    if (buf[i] === 0x7b) {
      i++;
      skip();
      for (let k = 0; k < INSTANCES.length; k++) if (buf[i + k] !== INSTANCES[k]) return undefined;
      i += INSTANCES.length;
      skip();
      if (buf[i] !== 0x3a) return undefined;
      i++;
      skip();
      count = rows(layout);
      if (count < 0) return undefined;
      skip();
      if (buf[i] !== 0x7d) return undefined;
      i++;
    } else if (bare && buf[i] === 0x5b) {
      count = rows(layout);
      if (count < 0) return undefined;
    } else {
      return undefined;
    }
    skip();
    if (i !== end) return undefined;
    return { data: out, count };
  } finally {
    buf = EMPTY;
    out = EMPTY_ROWS;
  }
}
