import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const fake = ['--plugin', `${root}test/fixtures/plugins/modelport-provider-fake`];
const stateDir = mkdtempSync(join(tmpdir(), 'modelport-cli-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function modelport(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    input: '',
    env: { ...process.env, MODELPORT_STATE_DIR: stateDir, NO_COLOR: '1', FORCE_COLOR: '' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('modelport CLI', () => {
  it('refuses to apply without --yes when it cannot ask, and changes nothing', () => {
    const result = modelport(...fake, 'apply', `${root}test/fixtures/fake/base.yaml`);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/refusing to apply without confirmation/);
    expect(result.stderr).toMatch(/pass --yes/);
    expect(result.stderr).toMatch(/\+ {3}create {2}fake:Model\/contract-model/); // the plan is shown first
  });

  it('answers --output json on errors, with the kind and the exit code of the kind', () => {
    const result = modelport('--output', 'json', 'status', `${root}test/fixtures/bad/15-min-above-max.yaml`);
    expect(result.status).toBe(2);
    const body = JSON.parse(result.stdout) as {
      ok: boolean;
      error: { kind: string; details: { diagnostics: unknown[] } };
    };
    expect(body.ok).toBe(false);
    expect(body.error.kind).toBe('invalidInput');
    expect(body.error.details.diagnostics).toHaveLength(1);
  });

  it('exits 3 (not found) when invoking an endpoint that is not deployed', () => {
    const result = modelport(
      'invoke',
      `${root}examples/iris/endpoint.yaml`,
      '-d',
      '{"instances":[[1,2,3,4]]}',
    );
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/is not deployed/);
    expect(result.stderr).toMatch(/modelport apply/);
  });

  it('prints plain progress lines without colour when not on a terminal', () => {
    const result = modelport(...fake, 'plan', `${root}test/fixtures/fake/base.yaml`);
    expect(result.status).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(result.stdout).not.toMatch(/\u001b\[/);
    expect(result.stdout).toMatch(/2 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged/);
  });

  it('prints the exact KServe resources for GitOps with plan --output yaml, without a cluster', () => {
    const result = modelport('plan', `${root}examples/kserve/iris.yaml`, '--output', 'yaml');
    expect(result.status, result.stderr).toBe(0);
    const [document, extra] = loadAll(result.stdout) as {
      kind: string;
      metadata: { labels: Record<string, string> };
    }[];
    expect(extra).toBeUndefined();
    expect(document?.kind).toBe('InferenceService');
    expect(document?.metadata.labels['modelport.dev/managed-by']).toBe('modelport');
    const local = modelport('plan', `${root}examples/iris/endpoint.yaml`, '--output', 'yaml');
    expect(local.status).toBe(5); // capability: the local provider has no declarative resources
  });

  it('reports usage errors with exit code 2', () => {
    const result = modelport('apply');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/missing required argument/);
  });
});
