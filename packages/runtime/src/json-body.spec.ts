import { describe, expect, it } from 'vitest';

import { RequestError } from './errors.js';
import { locateJsonError, parseJsonBody } from './json-body.js';

describe('parseJsonBody', () => {
  it('parses valid JSON', () => {
    expect(parseJsonBody('{"instances": [[1, 2]]}')).toEqual({ instances: [[1, 2]] });
  });

  it('reports where the text went wrong, with line and column', () => {
    const cases: [string, string][] = [
      ['{"a":}', 'malformed JSON at position 5 (line 1, column 6): unexpected "}"'],
      [
        '{"a":1',
        "malformed JSON at position 6 (line 1, column 7): expected ',' or '}', unexpected end of input",
      ],
      ['[1,\n 2,\n ]', 'malformed JSON at position 9 (line 3, column 2): unexpected "]"'],
      [
        "{'a': 1}",
        'malformed JSON at position 1 (line 1, column 2): expected a property name in double quotes, unexpected "\'"',
      ],
      [
        '{"a" 1}',
        'malformed JSON at position 5 (line 1, column 6): expected \':\' after the property name, unexpected "1"',
      ],
      [
        '[1] [2]',
        'malformed JSON at position 4 (line 1, column 5): unexpected "[" after the end of the value',
      ],
      [
        '"abc',
        'malformed JSON at position 0 (line 1, column 1): invalid string (unterminated, a bad escape or a raw control character)',
      ],
      ['', 'malformed JSON at position 0 (line 1, column 1): unexpected end of input'],
      ['[01]', "malformed JSON at position 2 (line 1, column 3): expected ',' or ']', unexpected \"1\""],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parseJsonBody(text);
      } catch (e) {
        error = e;
      }
      expect(RequestError.is(error), text).toBe(true);
      expect((error as RequestError).message, text).toBe(message);
      expect((error as RequestError).code).toBe('malformed_json');
      expect((error as RequestError).status).toBe(400);
    }
  });

  it('finds no error in valid JSON and survives deep nesting', () => {
    for (const text of ['{"a": [1, -2.5e3, true, false, null, "x\\u0041\\n"], "b": {}}', '[]', ' 1 ']) {
      expect(locateJsonError(text), text).toBeUndefined();
    }
    const deep = '['.repeat(200_000);
    expect(locateJsonError(deep)).toEqual({ position: 200_000, reason: 'unexpected end of input' });
  });
});
