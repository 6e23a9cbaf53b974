// Byte-level parsing of a line of numbers straight into a typed array: the per-row hot path of the file
// runner. Anything unusual (nesting, strings, odd number forms) returns -1 and the caller falls back to
// JSON.parse / the CSV parser, which then also produce the error message. Results equal JSON.parse's:
// numbers are decoded exactly (Clinger's fast path) or handed to Number().

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

type FloatArray = Float32Array | Float64Array;

let cursor = 0;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d;

/** Parses a JSON number at `i`; sets `cursor` past it. NaN when the bytes are not a JSON number. */
function parseNumber(buf: Uint8Array, i: number, end: number): number {
  const start = i;
  let negative = false;
  if (buf[i] === 0x2d) {
    negative = true;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let exp10 = 0;
  let c = buf[i] ?? 0;
  if (c === 0x30) {
    i++;
    if (i < end && isDigit(buf[i] ?? 0)) return NaN; // leading zero
  } else if (c >= 0x31 && c <= 0x39) {
    while (i < end && isDigit((c = buf[i] ?? 0))) {
      if (digits < 15) {
        mantissa = mantissa * 10 + (c - 0x30);
        digits++;
      } else {
        exp10++;
        digits++;
      }
      i++;
    }
  } else {
    return NaN;
  }
  let exact = digits <= 15;
  if (i < end && buf[i] === 0x2e) {
    i++;
    const fracStart = i;
    while (i < end && isDigit((c = buf[i] ?? 0))) {
      if (mantissa === 0 && c === 0x30) {
        exp10--; // leading zeros of the fraction cost no precision
      } else if (digits < 15) {
        mantissa = mantissa * 10 + (c - 0x30);
        digits++;
        exp10--;
      } else {
        exact = false;
      }
      i++;
    }
    if (i === fracStart) return NaN;
  }
  if (i < end && ((c = buf[i] ?? 0) === 0x65 || c === 0x45)) {
    i++;
    let expNegative = false;
    if (buf[i] === 0x2b || buf[i] === 0x2d) {
      expNegative = buf[i] === 0x2d;
      i++;
    }
    const expStart = i;
    let e = 0;
    while (i < end && isDigit((c = buf[i] ?? 0))) {
      if (e < 100000) e = e * 10 + (c - 0x30);
      i++;
    }
    if (i === expStart) return NaN;
    exp10 += expNegative ? -e : e;
  }
  cursor = i;
  if (!exact || exp10 > 22 || exp10 < -22) return slowNumber(buf, start, i);
  const value =
    exp10 === 0
      ? mantissa
      : exp10 > 0
        ? mantissa * (POW10[exp10] as number)
        : mantissa / (POW10[-exp10] as number);
  return negative ? -value : value;
}

/**
 * A JSON number at `buf[i]` (NaN when the bytes there are not one), decoded as JSON.parse decodes it;
 * `numberEnd()` is then the index just past it.
 */
export function parseJsonNumber(buf: Uint8Array, i: number, end: number): number {
  return parseNumber(buf, i, end);
}

/** Where the last number parsed by `parseJsonNumber` ended. */
export function numberEnd(): number {
  return cursor;
}

function slowNumber(buf: Uint8Array, start: number, end: number): number {
  let text = '';
  for (let k = start; k < end; k++) text += String.fromCharCode(buf[k] ?? 0);
  return Number(text);
}

/**
 * A flat JSON array of numbers (`[5.1, 3.5, 1.4, 0.2]`) in `buf[start, end)`, written to `out` from
 * `offset`. Returns how many numbers were written, or -1 when the line is not exactly that or holds
 * more than `max` numbers.
 */
export function parseJsonNumberArray(
  buf: Uint8Array,
  start: number,
  end: number,
  out: FloatArray,
  offset: number,
  max: number,
): number {
  let i = start;
  while (i < end && isSpace(buf[i] ?? 0)) i++;
  if (buf[i] !== 0x5b) return -1;
  i++;
  while (i < end && isSpace(buf[i] ?? 0)) i++;
  let n = 0;
  if (buf[i] === 0x5d) {
    i++;
  } else {
    for (;;) {
      if (n >= max) return -1;
      const value = parseNumber(buf, i, end);
      if (value !== value) return -1; // NaN: not a number
      out[offset + n++] = value;
      i = cursor;
      while (i < end && isSpace(buf[i] ?? 0)) i++;
      const c = buf[i];
      i++;
      if (c === 0x2c) {
        while (i < end && isSpace(buf[i] ?? 0)) i++;
        continue;
      }
      if (c === 0x5d) break;
      return -1;
    }
  }
  while (i < end && isSpace(buf[i] ?? 0)) i++;
  return i === end ? n : -1;
}

/** A CSV line of plain numbers (`5.1,3.5,1.4,0.2`); -1 for anything else (quotes, empty fields, text). */
export function parseCsvNumberRow(
  buf: Uint8Array,
  start: number,
  end: number,
  out: FloatArray,
  offset: number,
  max: number,
): number {
  let i = start;
  let n = 0;
  for (;;) {
    while (i < end && isSpace(buf[i] ?? 0)) i++;
    if (n >= max) return -1;
    const value = parseNumber(buf, i, end);
    if (value !== value) return -1;
    out[offset + n++] = value;
    i = cursor;
    while (i < end && isSpace(buf[i] ?? 0)) i++;
    if (i === end) return n;
    if (buf[i] !== 0x2c) return -1;
    i++;
  }
}
