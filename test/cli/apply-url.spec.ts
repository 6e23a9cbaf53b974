import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { onnxInputs } from '@modelport/core';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const fake = ['--plugin', `${root}test/fixtures/plugins/modelport-provider-fake`];
const scratch = mkdtempSync(join(tmpdir(), 'modelport-apply-url-'));
const stateDir = join(scratch, 'state');
const deployed: string[] = [];
afterAll(() => {
  for (const file of deployed) modelport('destroy', file, '--yes');
  rmSync(scratch, { recursive: true, force: true });
});

function modelport(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: scratch,
    encoding: 'utf8',
    input: '',
    env: { ...process.env, MODELPORT_STATE_DIR: stateDir, NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('apply ends with the URL and a curl line to paste', () => {
  it('local: the curl it prints invokes the endpoint (the shape from the signature)', () => {
    const file = `${root}examples/iris/endpoint.yaml`;
    deployed.push(file);
    const applied = modelport('apply', file, '--yes');
    expect(applied.status, applied.stderr).toBe(0);
    const lines = applied.stdout.trimEnd().split('\n');
    const url = /^Endpoint iris answers at (http:\/\/127\.0\.0\.1:\d+); call it with:$/.exec(
      lines.at(-2) ?? '',
    )?.[1];
    expect(url, applied.stdout).toBeDefined();
    const curl = lines.at(-1) ?? '';
    expect(curl).toBe(
      `curl -sS ${url}/invocations -H 'Content-Type: application/json' -d '{"instances": [[0, 0, 0, 0]]}'`,
    );
    const answer = spawnSync('sh', ['-c', curl], { encoding: 'utf8' });
    expect(answer.status, answer.stderr).toBe(0);
    expect(JSON.parse(answer.stdout)).toMatchObject({ predictions: [{ label: expect.any(Number) }] });

    // Re-applying the unchanged manifest says it again, and --output json carries the URL.
    const json = modelport('--output', 'json', 'apply', file, '--yes');
    expect(json.status, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout) as { ok: boolean; outcomes: Record<string, unknown>[] };
    expect(body.outcomes[0]).toMatchObject({
      url,
      invoke: curl,
      plan: expect.any(Object),
      result: expect.any(Object),
    });
  });

  it('local without a signature: the example is shaped from the ONNX file (several inputs, row objects)', () => {
    const model = join(scratch, 'multi.onnx');
    writeMultiInputModel(model);
    expect(onnxInputs(model)).toEqual([
      { name: 'x', dtype: 'float32', shape: [-1, 2] },
      { name: 'k', dtype: 'int64', shape: [-1, 1] },
    ]);
    const file = join(scratch, 'multi.yaml');
    writeFileSync(
      file,
      'apiVersion: modelport.dev/v1alpha1\nkind: Endpoint\nmetadata:\n  name: multi\nspec:\n  model: { format: onnx, uri: ./multi.onnx }\n',
    );
    deployed.push(file);
    const applied = modelport('apply', file, '--yes');
    expect(applied.status, applied.stderr).toBe(0);
    const curl = applied.stdout.trimEnd().split('\n').at(-1) ?? '';
    expect(curl).toMatch(/-d '\{"instances": \[\{"x": \[0, 0\], "k": \[0\]\}\]\}'$/);
    const answer = spawnSync('sh', ['-c', curl], { encoding: 'utf8' });
    expect(JSON.parse(answer.stdout)).toMatchObject({ predictions: [{ y: [0, 0], k_plus_one: [1] }] });
  });

  it('a provider whose status gives a URL (a plugin): the URL, and a placeholder where the shape is unknown', () => {
    const file = join(scratch, 'fake.yaml');
    copyFileSync(`${root}test/fixtures/fake/base.yaml`, file);
    copyFileSync(`${root}test/fixtures/fake/model.onnx`, join(scratch, 'model.onnx'));
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('uri: ./model.onnx', 'uri: https://models.example/model.onnx'),
    );
    const applied = modelport(...fake, 'apply', file, '--yes');
    expect(applied.status, applied.stderr).toBe(0);
    const lines = applied.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(
      /^Endpoint contract answers at https:\/\/fake\.example\/endpoints\/contract\/invocations; call it with \(replace <values of one instance>/,
    );
    expect(lines.at(-1)).toBe(
      `curl -sS https://fake.example/endpoints/contract/invocations -H 'Content-Type: application/json' -d '{"instances": [[<values of one instance>]]}'`,
    );
  });

  it('says nothing of the kind when the apply failed', () => {
    const applied = modelport('apply', `${root}test/fixtures/model-files/missing-model.yaml`, '--yes');
    expect(applied.status).toBe(2);
    expect(applied.stdout).not.toMatch(/answers at|curl/);
  });
});

/** `x` float32 [N,2] and `k` int64 [N,1] → `y` = x·k, `k_plus_one` = k + 1 (as the runtime's test model). */
function writeMultiInputModel(path: string): void {
  const { onnx } = onnxProto;
  const T = onnx.TensorProto.DataType;
  const info = (name: string, elemType: number, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'modelport-cli-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'multi',
      node: [
        {
          opType: 'Cast',
          input: ['k'],
          output: ['kf'],
          attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }],
        },
        { opType: 'Mul', input: ['x', 'kf'], output: ['y'] },
        { opType: 'Add', input: ['k', 'one'], output: ['k_plus_one'] },
      ],
      // An initializer listed among the inputs too (older exporters do): not an input to send.
      initializer: [{ name: 'one', dataType: T.INT64, dims: [1], int64Data: [1] }],
      input: [info('x', T.FLOAT, ['N', 2]), info('k', T.INT64, ['N', 1]), info('one', T.INT64, [1])],
      output: [info('y', T.FLOAT, ['N', 2]), info('k_plus_one', T.INT64, ['N', 1])],
    },
  });
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
}
