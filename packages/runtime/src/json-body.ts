import { RequestError } from './errors.js';

/** JSON.parse, with a 400 that says where the text went wrong. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestError(describeJsonError(text, error), 'malformed_json');
  }
}

/** Where and why JSON.parse failed. V8 gives a position for some errors only, so the text is scanned again. */
export function jsonErrorDetail(
  text: string,
  error: unknown,
): { position: number | undefined; reason: string } {
  const found = locateJsonError(text);
  if (found !== undefined) return found;
  const position = /position (\d+)/.exec(String(error))?.[1];
  return {
    position: position === undefined ? undefined : Number(position),
    reason: error instanceof Error ? error.message : String(error),
  };
}

function describeJsonError(text: string, error: unknown): string {
  const { position, reason } = jsonErrorDetail(text, error);
  if (position === undefined) return `malformed JSON: ${reason}`;
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `malformed JSON at position ${position} (line ${line}, column ${position - lineStart + 1}): ${reason}`;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// A JSON string: no raw control characters, only the escapes JSON allows.
// eslint-disable-next-line no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Finds the first syntax error of a JSON text: an iterative scanner, so deep nesting cannot overflow. */
export function locateJsonError(text: string): { position: number; reason: string } | undefined {
  let i = 0;
  const stack: number[] = []; // 0x5b '[' or 0x7b '{'
  const skip = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const fail = (reason: string) => ({ position: i, reason });
  const unexpected = () =>
    i >= text.length ? fail('unexpected end of input') : fail(`unexpected ${JSON.stringify(text[i])}`);
  const scalar = (): boolean => {
    const c = text[i];
    if (c === '"') {
      STRING.lastIndex = i;
      if (!STRING.test(text)) return false;
      i = STRING.lastIndex;
      return true;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return true;
      }
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) return false;
    i = NUMBER.lastIndex;
    return true;
  };

  // States: expecting a value; after a value (expecting , ] } or end).
  let expectValue = true;
  for (;;) {
    skip();
    if (expectValue) {
      const c = text[i];
      if (c === '[' || c === '{') {
        stack.push(c.charCodeAt(0));
        i++;
        skip();
        if (text[i] === (c === '[' ? ']' : '}')) {
          stack.pop();
          i++;
          expectValue = false;
          continue;
        }
        if (c === '{') {
          const bad = objectKey();
          if (bad !== undefined) return bad;
        }
        continue;
      }
      if (!scalar())
        return text[i] === '"'
          ? fail('invalid string (unterminated, a bad escape or a raw control character)')
          : unexpected();
      expectValue = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined)
      return i < text.length
        ? fail(`unexpected ${JSON.stringify(text[i])} after the end of the value`)
        : undefined;
    const c = text[i];
    if (c === ',') {
      i++;
      skip();
      if (top === 0x7b) {
        const bad = objectKey();
        if (bad !== undefined) return bad;
      }
      expectValue = true;
      continue;
    }
    if ((c === ']' && top === 0x5b) || (c === '}' && top === 0x7b)) {
      stack.pop();
      i++;
      continue;
    }
    return fail(`expected ',' or '${top === 0x5b ? ']' : '}'}', ${unexpected().reason}`);
  }

  /** Reads `"key" :` and leaves the scanner expecting the value. */
  function objectKey(): { position: number; reason: string } | undefined {
    skip();
    if (text[i] !== '"') return fail(`expected a property name in double quotes, ${unexpected().reason}`);
    STRING.lastIndex = i;
    if (!STRING.test(text))
      return fail('invalid string (unterminated, a bad escape or a raw control character)');
    i = STRING.lastIndex;
    skip();
    if (text[i] !== ':') return fail(`expected ':' after the property name, ${unexpected().reason}`);
    i++;
    return undefined;
  }
}
