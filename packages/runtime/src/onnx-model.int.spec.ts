import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { ModelLoadError, RequestError } from './errors.js';
import { OnnxModel } from './onnx-model.js';
import {
  classify,
  writeClassifierModel,
  writeFixedShapeModel,
  writeIdentityModel,
  writeMultiInputModel,
} from './testing/test-models.js';

let dir: string;
let classifier: OnnxModel;
let multi: OnnxModel;
let identity: OnnxModel;

const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [-1, 2, 0.5, 4],
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-model-'));
  classifier = await OnnxModel.load(writeClassifierModel(dir), { name: 'iris' });
  multi = await OnnxModel.load(writeMultiInputModel(dir));
  identity = await OnnxModel.load(writeIdentityModel(dir));
});

afterAll(async () => {
  await Promise.all([classifier.close(), multi.close(), identity.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function expectClose(actual: unknown, expected: number[]): void {
  expect(Array.isArray(actual)).toBe(true);
  const values = actual as number[];
  expect(values).toHaveLength(expected.length);
  values.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
}

async function rejection(promise: Promise<unknown>): Promise<RequestError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(RequestError.is(error), `expected a RequestError, got ${String(error)}`).toBe(true);
  return error as RequestError;
}

describe('OnnxModel.load', () => {
  it('derives the signature from the session metadata', () => {
    expect(classifier.name).toBe('iris');
    expect(classifier.signature).toEqual({
      inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', dtype: 'float32', shape: [-1, 3] },
        { name: 'label', dtype: 'int64', shape: [-1] },
      ],
    });
    expect(multi.name).toBe('multi');
    expect(multi.signature.inputs.map((s) => `${s.name}:${s.dtype}`)).toEqual(['x:float32', 'k:int64']);
  });

  it('takes a declared signature and checks it against the model', async () => {
    const path = join(dir, 'classifier.onnx');
    const declared = await OnnxModel.load(path, {
      signature: {
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
        outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
      },
    });
    try {
      expect(await declared.predictInstances([rows[0]])).toEqual([0]);
    } finally {
      await declared.close();
    }
    await expect(
      OnnxModel.load(path, { signature: { inputs: [{ name: 'input', dtype: 'float64' }] } }),
    ).rejects.toThrow(/signature says input "input" is float64, the model says float32/);
    await expect(
      OnnxModel.load(path, { signature: { inputs: [{ name: 'pixels', dtype: 'float32' }] } }),
    ).rejects.toThrow(/signature names input "pixels", which the model does not have \(it has "input"\)/);
    await expect(
      OnnxModel.load(path, { signature: { inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 5] }] } }),
    ).rejects.toThrow(/does not fit the model's \[-1,4\]/);
  });

  it('fails with a ModelLoadError for a missing or corrupt file', async () => {
    await expect(OnnxModel.load(join(dir, 'nope.onnx'))).rejects.toThrow(ModelLoadError);
    await expect(OnnxModel.load(join(dir, 'nope.onnx'))).rejects.toThrow(
      /model file not found: .*nope\.onnx/,
    );
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, 'this is not a protobuf');
    await expect(OnnxModel.load(corrupt)).rejects.toThrow(/cannot load ONNX model .*corrupt\.onnx/);
    await expect(OnnxModel.load(dir)).rejects.toThrow(/not a file/);
  });
});

describe('predictInstances', () => {
  it('returns one prediction per instance, as an object per output', async () => {
    const predictions = (await classifier.predictInstances(rows)) as {
      probabilities: number[];
      label: number;
    }[];
    expect(predictions).toHaveLength(rows.length);
    predictions.forEach((p, i) => {
      const expected = classify(rows[i] as number[]);
      expect(Object.keys(p)).toEqual(['probabilities', 'label']);
      expectClose(p.probabilities, expected.probabilities);
      expect(p.label).toBe(expected.label);
      expect(typeof p.label).toBe('number');
    });
  });

  it('sends all instances through one session.run', async () => {
    const run = vi.spyOn(classifier, 'run');
    try {
      await classifier.predictInstances([...rows, ...rows, ...rows]);
      expect(run).toHaveBeenCalledTimes(1);
      const feeds = run.mock.calls[0]?.[0];
      expect(feeds?.['input']?.dims).toEqual([9, 4]);
    } finally {
      run.mockRestore();
    }
  });

  it('accepts an object keyed by input name for a single-input model too', async () => {
    const [p] = (await classifier.predictInstances([{ input: rows[0] }])) as { label: number }[];
    expect(p?.label).toBe(classify(rows[0] as number[]).label);
  });

  it('feeds several inputs, int64 included, and returns int64 outputs as numbers', async () => {
    const predictions = await multi.predictInstances([
      { x: [1.5, -2], k: [3] },
      { x: [0.25, 4], k: 2 }, // one value for a one-element row
      { x: [1, 1], k: ['-7'] }, // int64 as a decimal string
    ]);
    expect(predictions).toEqual([
      { y: [4.5, -6], k_plus_one: [4] },
      { y: [0.5, 8], k_plus_one: [3] },
      { y: [-7, -7], k_plus_one: [-6] },
    ]);
  });

  it('names the instance and what was expected when a row has the wrong length', async () => {
    const error = await rejection(classifier.predictInstances([rows[0], rows[1], [1, 2, 3]]));
    expect(error.status).toBe(400);
    expect(error.message).toBe('instance 2: expected 4 values for input "input" (shape [-1,4]), got 3');
  });

  it('rejects values of the wrong type', async () => {
    const error = await rejection(classifier.predictInstances([[1, 2, 'x', 4]]));
    expect(error.message).toBe('instance 0: input "input" expects float32 numbers, got string "x" at [2]');
    expect((await rejection(multi.predictInstances([{ x: [1, 2], k: [1.5] }]))).message).toBe(
      'instance 0: input "k" expects int64 integers, got number 1.5 at [0]',
    );
    expect((await rejection(classifier.predictInstances([[[1, 2, 3, 4]]]))).message).toMatch(
      /instance 0: expected 4 values for input "input" \(shape \[-1,4\]\), got 1/,
    );
    expect((await rejection(classifier.predictInstances([null]))).message).toMatch(
      /instance 0: expected an array of 4 values for input "input" \(shape \[-1,4\]\), got null/,
    );
  });

  it('rejects missing and unknown inputs of a multi-input model', async () => {
    expect((await rejection(multi.predictInstances([{ x: [1, 2] }]))).message).toBe(
      'instance 0: missing input "k" (shape [-1,1])',
    );
    expect((await rejection(multi.predictInstances([{ x: [1, 2], k: [1], z: 1 }]))).message).toBe(
      'instance 0: unknown input "z"; the model\'s inputs are "x", "k"',
    );
    expect((await rejection(multi.predictInstances([[1, 2]]))).message).toMatch(
      /instance 0: expected an object keyed by input name \("x", "k"\), got an array of 2/,
    );
  });

  it('fixes variable dimensions by the first row and rejects ragged rows', async () => {
    expect(
      await identity.predictInstances([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await identity.predictInstances([[1]])).toEqual([[1]]);
    const error = await rejection(
      identity.predictInstances([
        [1, 2, 3],
        [4, 5],
      ]),
    );
    expect(error.message).toMatch(/^instance 1: expected 3 values for input "x" \(shape \[-1,-1\]\).*got 2/);
  });

  it('rejects an empty instance list', async () => {
    expect((await rejection(classifier.predictInstances([]))).message).toMatch(
      /non-empty array of instances/,
    );
  });

  it('runs a model without a batch dimension once per instance, each instance a whole tensor', async () => {
    const fixed = await OnnxModel.load(writeFixedShapeModel(dir));
    try {
      expect(fixed.batched).toBe(false);
      const predictions = await fixed.predictInstances([
        [
          [1, -2, 3],
          [-4, 5, -6],
        ],
        [0, 1, -1, 2, -2, 3], // flat, row-major
      ]);
      expect(predictions).toEqual([
        [
          [1, 0, 3],
          [0, 5, 0],
        ],
        [
          [0, 1, 0],
          [2, 0, 3],
        ],
      ]);
    } finally {
      await fixed.close();
    }
  });
});

describe('dynamic batching', () => {
  it('runs requests made in the same turn as one session.run, each getting its own rows', async () => {
    const run = vi.spyOn(classifier, 'run');
    try {
      const requests = [[rows[0]], [rows[1], rows[2]], [rows[2]], rows];
      const results = await Promise.all(requests.map((r) => classifier.predictInstances(r as number[][])));
      expect(run).toHaveBeenCalledTimes(1);
      expect(run.mock.calls[0]?.[0]['input']?.dims).toEqual([7, 4]);
      results.forEach((predictions, i) => {
        const expected = (requests[i] as number[][]).map((row) => classify(row).label);
        expect((predictions as { label: number }[]).map((p) => p.label)).toEqual(expected);
      });
    } finally {
      run.mockRestore();
    }
  });

  it('fails only the request with a bad instance', async () => {
    const run = vi.spyOn(classifier, 'run');
    try {
      const [good, bad, alsoGood] = await Promise.allSettled([
        classifier.predictInstances([rows[0]]),
        classifier.predictInstances([rows[1], [1, 2]]),
        classifier.predictInstances([rows[2]]),
      ]);
      expect(run).toHaveBeenCalledTimes(1);
      expect(good.status).toBe('fulfilled');
      expect(alsoGood.status).toBe('fulfilled');
      expect(alsoGood.status === 'fulfilled' && (alsoGood.value[0] as { label: number }).label).toBe(
        classify(rows[2] as number[]).label,
      );
      expect(bad.status === 'rejected' && (bad.reason as Error).message).toBe(
        'instance 1: expected 4 values for input "input" (shape [-1,4]), got 2',
      );
    } finally {
      run.mockRestore();
    }
  });

  it('puts requests whose rows have other dimensions into a run of their own', async () => {
    const run = vi.spyOn(identity, 'run');
    try {
      const results = await Promise.all([
        identity.predictInstances([[1, 2]]),
        identity.predictInstances([[3, 4, 5]]),
      ]);
      expect(results).toEqual([[[1, 2]], [[3, 4, 5]]]);
      expect(run).toHaveBeenCalledTimes(2);
    } finally {
      run.mockRestore();
    }
  });

  it('re-runs the requests of a failed shared run one by one', async () => {
    const run = vi.spyOn(classifier, 'run').mockRejectedValueOnce(new RequestError('boom', 'internal'));
    try {
      const results = await Promise.all([
        classifier.predictInstances([rows[0]]),
        classifier.predictInstances([rows[1]]),
      ]);
      expect(run).toHaveBeenCalledTimes(3);
      expect(results.map((r) => (r[0] as { label: number }).label)).toEqual([
        classify(rows[0] as number[]).label,
        classify(rows[1] as number[]).label,
      ]);
    } finally {
      run.mockRestore();
    }
  });

  it('gives the same text from predictInstancesJson as JSON.stringify of predictInstances', async () => {
    const requests = [[rows[0]], rows, [rows[1]]];
    const [objects, texts] = await Promise.all([
      Promise.all(requests.map((r) => classifier.predictInstances(r))),
      Promise.all(requests.map((r) => classifier.predictInstancesJson(r))),
    ]);
    expect(texts).toEqual(objects.map((o) => JSON.stringify(o)));
    const multiInstances = [
      { x: [1.5, -2], k: [3] },
      { x: [0.1, 0.2], k: [-1] },
    ];
    expect(await multi.predictInstancesJson(multiInstances)).toBe(
      JSON.stringify(await multi.predictInstances(multiInstances)),
    );
    const values = [0.1, 1e-7, 3e21];
    expect(await identity.predictInstancesJson([values])).toBe(
      JSON.stringify([Array.from(new Float32Array(values))]),
    );
  });
});

describe('inferV2', () => {
  it('runs Open Inference Protocol tensors and returns flattened outputs', async () => {
    const response = await classifier.inferV2({
      id: 'req-1',
      inputs: [
        { name: 'input', shape: [2, 4], datatype: 'FP32', data: [...(rows[0] ?? []), ...(rows[1] ?? [])] },
      ],
    });
    expect(response.model_name).toBe('iris');
    expect(response.model_version).toBe('1');
    expect(response.id).toBe('req-1');
    const [probabilities, label] = response.outputs;
    expect(probabilities?.name).toBe('probabilities');
    expect(probabilities?.datatype).toBe('FP32');
    expect(probabilities?.shape).toEqual([2, 3]);
    expectClose(probabilities?.data, [
      ...classify(rows[0] as number[]).probabilities,
      ...classify(rows[1] as number[]).probabilities,
    ]);
    expect(label).toEqual({
      name: 'label',
      datatype: 'INT64',
      shape: [2],
      data: [classify(rows[0] as number[]).label, classify(rows[1] as number[]).label],
    });
  });

  it('accepts nested data and returns only the requested outputs', async () => {
    const response = await classifier.inferV2({
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [rows[2]] }],
      outputs: [{ name: 'label' }],
    });
    expect(response.outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [1], data: [classify(rows[2] as number[]).label] },
    ]);
  });

  it('checks datatype, shape, data size, names and outputs', async () => {
    const input = { name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] };
    const cases: [unknown, RegExp][] = [
      [
        { inputs: [{ ...input, datatype: 'FP64' }] },
        /input "input" has datatype FP32, the request says "FP64"/,
      ],
      [
        { inputs: [{ ...input, shape: [1, 5], data: [1, 2, 3, 4, 5] }] },
        /shape \[1,5\] does not fit input "input" \(shape \[-1,4\]\)/,
      ],
      [{ inputs: [{ ...input, data: [1, 2, 3] }] }, /shape \[1,4\] needs 4 values, "data" has 3/],
      [
        { inputs: [{ ...input, data: [1, 2, 'a', 4] }] },
        /expects float32 numbers, got string "a" at data\[2\]/,
      ],
      [{ inputs: [{ ...input, name: 'nope' }] }, /unknown input "nope"/],
      [{ inputs: [input], outputs: [{ name: 'logits' }] }, /unknown output "logits"/],
      [{ inputs: [] }, /"inputs" must be a non-empty array/],
      [[1, 2], /expected an object/],
    ];
    for (const [request, message] of cases) {
      const error = await rejection(classifier.inferV2(request as never));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(message);
    }
    expect(
      (
        await rejection(
          multi.inferV2({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] }),
        )
      ).message,
    ).toMatch(/missing input\(s\) "k"/);
  });
});

describe('close', () => {
  it('waits for running inferences, then refuses new ones with 503', async () => {
    const model = await OnnxModel.load(join(dir, 'classifier.onnx'));
    const running = model.predictInstances([rows[0]]);
    await model.close();
    expect(await running).toHaveLength(1);
    const error = await rejection(model.predictInstances([rows[0]]));
    expect(error.status).toBe(503);
  });
});
