import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}packages/cli/dist/bin/modelport.js`;
const fakePlugin = `${root}test/fixtures/plugins/modelport-provider-fake`;
const scratch = mkdtempSync(join(tmpdir(), 'modelport-lazy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CLOUD_SDKS = /@aws-sdk|@smithy|@azure|@google-cloud|google-gax|@grpc|@kubernetes/;

/** Runs the CLI and returns every module file it loaded. */
function loadedModules(
  args: string[],
  cwd = root,
): { modules: string[]; status: number | null; stdout: string; stderr: string } {
  const record = join(scratch, `modules-${Math.random().toString(36).slice(2)}.txt`);
  const result = spawnSync(
    process.execPath,
    ['--import', `${root}test/fixtures/loader/record-modules.mjs`, cli, ...args],
    {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, MODELPORT_RECORD_MODULES: record, MODELPORT_STATE_DIR: join(scratch, 'state') },
    },
  );
  let modules: string[] = [];
  try {
    modules = readFileSync(record, 'utf8').trim().split('\n');
  } catch {
    // nothing recorded
  }
  return { modules, status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('lazy loading', () => {
  it('validate loads no provider module and no cloud SDK, only capability declarations', () => {
    const { modules, status } = loadedModules([
      '--plugin',
      fakePlugin,
      'validate',
      `${root}test/fixtures/fake/base.yaml`,
      `${root}examples/iris/endpoint.yaml`,
    ]);
    expect(status).toBe(0);
    expect(modules.length).toBeGreaterThan(10); // the recorder works
    expect(modules.filter((m) => CLOUD_SDKS.test(m))).toEqual([]);
    expect(modules.filter((m) => /\/module\.js$/.test(m))).toEqual([]); // providers' modules
    expect(modules.some((m) => m.endsWith('modelport-provider-fake/capabilities.js'))).toBe(true);
    expect(modules.filter((m) => /inversify|onnxruntime|better-sqlite3/.test(m))).toEqual([]);
    // Valid manifests need no positions, so the full YAML parser (100 ms to load) stays unloaded.
    expect(modules.filter((m) => m.includes('/yaml@'))).toEqual([]);
  });

  it('providers prints the capability matrix without loading any provider module', () => {
    const { modules, status, stdout, stderr } = loadedModules([
      '--plugin',
      fakePlugin,
      '--output',
      'json',
      'providers',
    ]);
    expect(status, stderr).toBe(0);
    const ids = (JSON.parse(stdout) as { providers: { id: string }[] }).providers.map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining(['local', 'fake']));
    expect(
      modules.filter((m) => CLOUD_SDKS.test(m) || /\/module\.js$|inversify|onnxruntime/.test(m)),
    ).toEqual([]);
  });

  it('migrate translates through declarations only: no provider module, no cloud SDK', () => {
    const { modules, status, stderr } = loadedModules([
      'migrate',
      `${root}examples/aws/iris-realtime.yaml`,
      '--to',
      'local',
      '-o',
      join(scratch, 'migrated.yaml'),
    ]);
    expect(status, stderr).toBe(0);
    expect(
      modules.filter((m) => CLOUD_SDKS.test(m) || /\/module\.js$|inversify|onnxruntime/.test(m)),
    ).toEqual([]);
  });

  it('plan loads the module of the provider the manifest names, and only that one', () => {
    const { modules, status } = loadedModules([
      '--plugin',
      fakePlugin,
      'plan',
      `${root}test/fixtures/fake/base.yaml`,
    ]);
    expect(status).toBe(0);
    expect(modules.some((m) => m.endsWith('modelport-provider-fake/module.js'))).toBe(true);
    expect(modules.filter((m) => m.includes('provider-local/dist/module.js'))).toEqual([]);
  });
});

describe('plugin discovery', () => {
  it('finds modelport-provider-* packages in node_modules without being told', () => {
    const project = join(scratch, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(fakePlugin, join(project, 'node_modules', 'modelport-provider-fake'));
    const out = execFileSync(process.execPath, [cli, '--output', 'json', 'providers'], {
      cwd: project,
      encoding: 'utf8',
    });
    const fake = (
      JSON.parse(out) as { providers: { id: string; origin: string; package: string }[] }
    ).providers.find((p) => p.id === 'fake');
    expect(fake).toMatchObject({ origin: 'plugin', package: 'modelport-provider-fake' });
  });

  it('lists the installed providers when a manifest names an unknown one', () => {
    const result = spawnSync(
      process.execPath,
      [cli, 'validate', `${root}test/fixtures/bad/20-unknown-provider.yaml`],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/provider "oracle" is not installed/);
    expect(result.stderr).toMatch(/installed providers: .*\blocal\b/);
  });
});
