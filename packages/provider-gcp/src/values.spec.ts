import { describe, expect, it } from 'vitest';
import { fromValue, toValue } from './values.js';

describe('google.protobuf.Value', () => {
  it('round-trips JSON, lists of lists included', () => {
    for (const json of [
      [[5.1, 3.5, 1.4, 0.2]],
      { a: [1, 'x', true, null], b: { c: 0 } },
      0,
      '',
      false,
      null,
    ]) {
      expect(fromValue(toValue(json))).toEqual(json);
    }
  });

  it('reads decoded messages by their `kind` (the other members read as defaults)', () => {
    expect(fromValue({ kind: 'numberValue', numberValue: 0, stringValue: '', listValue: null })).toBe(0);
    expect(
      fromValue({
        kind: 'listValue',
        numberValue: 0,
        listValue: { values: [{ kind: 'stringValue', stringValue: 'a', numberValue: 0 }] },
      }),
    ).toEqual(['a']);
  });
});
