import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const fixtures = 'test/fixtures/model-files';
const scratch = mkdtempSync(join(tmpdir(), 'modelport-model-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function modelport(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    input: '',
    env: { ...process.env, MODELPORT_STATE_DIR: join(scratch, 'state'), NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a local spec.model.uri', () => {
  it('that does not exist is a validation error at the uri line, naming the resolved path and what to do', () => {
    const result = modelport('validate', `${fixtures}/missing-model.yaml`);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      `${fixtures}/missing-model.yaml:9:10 error spec.model.uri: the model file ${root}${fixtures}/modle.onnx does not exist (spec.model.uri is resolved against the manifest's folder, ${root}${fixtures})`,
    );
    expect(result.stderr).toMatch(
      /→ fix the path to the model file or folder, or use a remote URI \(s3:\/\/, gs:\/\//,
    );
  });

  it('that does not exist is refused by plan and apply at the same line, before any provider runs', () => {
    for (const command of [['plan'], ['apply', '--yes']]) {
      const result = modelport(...command, `${fixtures}/missing-model.yaml`);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(
        `${fixtures}/missing-model.yaml:9:10 error spec.model.uri: the model file`,
      );
    }
  });

  it('is reported in --output json with its code, line and column', () => {
    const result = modelport('--output', 'json', 'validate', `${fixtures}/missing-model.yaml`);
    expect(result.status).toBe(2);
    const body = JSON.parse(result.stdout) as { files: { diagnostics: Record<string, unknown>[] }[] };
    expect(body.files[0]?.diagnostics).toEqual([
      expect.objectContaining({ code: 'file.modelMissing', path: 'spec.model.uri', line: 9, column: 10 }),
    ]);
  });

  it('may name a model folder', () => {
    const result = modelport('validate', `${fixtures}/folder-model.yaml`);
    expect(result.status, result.stderr).toBe(0);
  });

  it('that is a FIFO is refused: not a regular file or folder', () => {
    const manifest = join(scratch, 'fifo.yaml');
    execFileSync('mkfifo', [join(scratch, 'fifo.onnx')]);
    writeFileSync(
      manifest,
      'apiVersion: modelport.dev/v1alpha1\nkind: Endpoint\nmetadata:\n  name: fifo\nspec:\n  model: { format: onnx, uri: ./fifo.onnx }\n',
    );
    const result = modelport('validate', manifest);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      `${manifest}:6:31 error spec.model.uri: the model ${scratch}/fifo.onnx is a FIFO (named pipe), not a regular file or folder`,
    );
  });

  it('that is not an ONNX model (text, or cut short) is refused by validate', () => {
    const corrupt = modelport('validate', `${fixtures}/corrupt-model.yaml`);
    expect(corrupt.status).toBe(2);
    expect(corrupt.stderr).toMatch(
      /corrupt-model\.yaml:9:10 error spec\.model\.uri: the model file .*corrupt\.onnx is not an ONNX model: wire type 4 at byte 0 \(not protobuf\)/,
    );
    expect(corrupt.stderr).toMatch(/→ export the model to ONNX again/);
    const truncated = modelport('validate', `${fixtures}/truncated-model.yaml`);
    expect(truncated.status).toBe(2);
    expect(truncated.stderr).toMatch(/truncated\.onnx is not an ONNX model: the file ends at byte 700/);
  });

  it('that is gone does not stop status or destroy (nothing to read to remove a deployment)', () => {
    const status = modelport('status', `${fixtures}/missing-model.yaml`);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/Endpoint missing \(local\): absent/);
    const destroy = modelport('destroy', `${fixtures}/missing-model.yaml`, '--yes');
    expect(destroy.status, destroy.stderr).toBe(0);
  });

  it('is checked relative to the manifest, wherever the command runs', () => {
    const copy = join(scratch, 'elsewhere.yaml');
    copyFileSync(`${root}examples/iris/endpoint.yaml`, copy);
    const result = modelport('validate', copy);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`the model file ${scratch}/model.onnx does not exist`);
    copyFileSync(`${root}examples/iris/model.onnx`, join(scratch, 'model.onnx'));
    expect(modelport('validate', copy).status).toBe(0);
  });
});
