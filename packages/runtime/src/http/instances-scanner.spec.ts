import { describe, expect, it } from 'vitest';

import type { RowLayout } from '../onnx-model.js';
import { scanInstances } from './instances-scanner.js';

const IRIS: RowLayout = { dtype: 'float32', rowSize: 4, dims: [4], flat: true };
const IMAGE: RowLayout = { dtype: 'float32', rowSize: 12, dims: [3, 2, 2], flat: true };
const F64: RowLayout = { dtype: 'float64', rowSize: 2, dims: [2], flat: true };

/** What the JSON.parse path stores: the instances of the parsed body, flattened, in the same typed array. */
function viaJsonParse(text: string, layout: RowLayout): number[] {
  const parsed = JSON.parse(text) as unknown;
  const instances = (
    Array.isArray(parsed) ? parsed : (parsed as { instances: unknown[] }).instances
  ) as unknown[];
  const flat = instances.flatMap((row) => (row as unknown[]).flat(8)) as number[];
  return Array.from(layout.dtype === 'float32' ? Float32Array.from(flat) : Float64Array.from(flat));
}

function scanned(text: string, layout: RowLayout, bare = true): number[] | undefined {
  const rows = scanInstances(Buffer.from(text), layout, bare);
  return rows === undefined ? undefined : Array.from(rows.data.subarray(0, rows.count * layout.rowSize));
}

describe('scanInstances', () => {
  it('equals JSON.parse on valid bodies of every number form', () => {
    const bodies: [string, RowLayout][] = [
      ['{"instances": [[5.1, 3.5, 1.4, 0.2]]}', IRIS],
      ['{"instances":[[5.1,3.5,1.4,0.2],[6.2,2.9,4.3,1.3]]}', IRIS],
      [
        ' \n{ "instances" :\t[ [ -0, 0, -1e-7, 1E+3 ] ,\r\n [1.7976931348623157e308, 5e-324, 1e400, -1e400] ] } \n',
        IRIS,
      ],
      [
        '{"instances": [[0.1, 0.30000000000000004, 123456789012345678901234567890, 3.14159265358979323846]]}',
        IRIS,
      ],
      ['{"instances": [[1e-22, 1e22, 9007199254740993, 0.000001]]}', F64.rowSize === 2 ? IRIS : IRIS],
      ['[[1, 2, 3, 4], [5, 6, 7, 8]]', IRIS],
      ['{"instances": [[0.1, 0.2], [1e-300, 2.5e-308]]}', F64],
      ['{"instances": [[1,2,3,4,5,6,7,8,9,10,11,12]]}', IMAGE],
      [
        '{"instances": [[[[1,2],[3,4]],[[5,6],[7,8]],[[9,10],[11,12]]], [1,2,3,4,5,6,7,8,9,10,11,12]]}',
        IMAGE,
      ],
    ];
    for (const [text, layout] of bodies) {
      expect(scanned(text, layout), text).toEqual(viaJsonParse(text, layout));
    }
  });

  it('equals JSON.parse on many random rows', () => {
    let seed = 42;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const rows = Array.from({ length: 500 }, () =>
      Array.from({ length: 4 }, () => {
        const kind = random();
        if (kind < 0.3) return (random() * 10).toFixed(Math.floor(random() * 8));
        if (kind < 0.6) return String((random() - 0.5) * 10 ** Math.floor(random() * 40 - 20));
        if (kind < 0.8) return String(Math.floor(random() * 1e9) - 5e8);
        return `${(random() * 9 + 1).toFixed(3)}e${Math.floor(random() * 60 - 30)}`;
      }),
    );
    const text = `{"instances":[${rows.map((r) => `[${r.join(',')}]`).join(',')}]}`;
    expect(scanned(text, IRIS)).toEqual(viaJsonParse(text, IRIS));
    expect(scanned(text, { ...IRIS, dtype: 'float64' })).toEqual(
      viaJsonParse(text, { ...IRIS, dtype: 'float64' }),
    );
  });

  it('falls back (undefined) on anything else', () => {
    const fallbacks = [
      '{"instances": []}',
      '{"instances": [[1, 2, 3]]}', // row too short
      '{"instances": [[1, 2, 3, 4, 5]]}', // too long
      '{"instances": [[1, 2, 3, 4]], "parameters": {}}', // another field
      '{"parameters": {}, "instances": [[1, 2, 3, 4]]}',
      '{"instances": [[1, 2, 3, "4"]]}',
      '{"instances": [[1, 2, 3, null]]}',
      '{"instances": [[1, 2, 3, 4],]}',
      '{"instances": [[1, 2, 3, 4,]]}',
      '{"instances": [[01, 2, 3, 4]]}',
      '{"instances": [[1., 2, 3, 4]]}',
      '{"instances": [[.5, 2, 3, 4]]}',
      '{"instances": [[+1, 2, 3, 4]]}',
      '{"instances": [[NaN, 2, 3, 4]]}',
      '{"instances": [[1, 2, 3, 4]]',
      '{"instances": [[1, 2, 3, 4]]} x',
      '{"\\u0069nstances": [[1, 2, 3, 4]]}',
      '{"instances": [{"input": [1, 2, 3, 4]}]}',
      '{"instances": [[[1, 2, 3, 4]]]}',
      '{"data": [[1, 2, 3, 4]]}',
      '\ufeff{"instances": [[1, 2, 3, 4]]}',
      '',
    ];
    for (const text of fallbacks) expect(scanned(text, IRIS), text).toBeUndefined();
    expect(scanned('[[1, 2, 3, 4]]', IRIS, false)).toBeUndefined(); // a bare array where the protocol wants an object
    // Nested rows must match the dims exactly; flat rows only where the encoder takes them.
    expect(scanned('{"instances": [[[[1,2],[3,4]],[[5,6],[7,8]]]]}', IMAGE)).toBeUndefined();
    expect(
      scanned('{"instances": [[1,2,3,4,5,6,7,8,9,10,11,12]]}', { ...IMAGE, flat: false }),
    ).toBeUndefined();
  });

  it('grows past its first allocation', () => {
    const rows = Array.from({ length: 3000 }, (_, r) => `[${r},${r + 0.5},${-r},1]`);
    const text = `{"instances":[${rows.join(',')}]}`;
    const result = scanInstances(Buffer.from(text), IRIS, false);
    expect(result?.count).toBe(3000);
    expect(Array.from(result?.data.subarray(0, 12000) ?? [])).toEqual(viaJsonParse(text, IRIS));
  });
});
