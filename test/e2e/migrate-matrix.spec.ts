// The done-when of migration: for every ordered pair of providers among aws, azure, gcp and local, the
// example manifest of the source (deployed on its emulator, or locally) migrates to the target, applies
// against the target's emulator and passes `compare` against the source (`migrate --apply`, which runs
// the parity check itself); and a round trip aws → gcp → azure → aws gives back the same neutral spec.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult, Workspace } from './helpers.js';
import { createWorkspace, IRIS_DIR, IRIS_MODEL, ROOT, runCliWithEnv } from './helpers.js';
import type { Cloud } from './migrate-clouds.js';
import { startClouds } from './migrate-clouds.js';

let ws: Workspace;
let clouds: Cloud[];
let env: NodeJS.ProcessEnv;
let stop: () => Promise<void>;
let payloads: string;
const sources = new Map<string, string>();
const deployed: string[] = [];

function cli(args: readonly string[]): Promise<CliResult> {
  return runCliWithEnv(args, env, 150_000);
}

beforeAll(async () => {
  ws = await createWorkspace('migrate-matrix');
  ({ clouds, env, stop } = await startClouds(ws.stateDir));
  payloads = join(ws.dir, 'payloads.jsonl');
  // Ten of the held-out iris rows, two instances per request.
  const rows = (await readFile(join(IRIS_DIR, 'samples.jsonl'), 'utf8')).trim().split('\n').slice(0, 20);
  const bodies = [];
  for (let i = 0; i < rows.length; i += 2) {
    const pair = rows.slice(i, i + 2).map((r) => (JSON.parse(r) as { instances: number[][] }).instances[0]);
    bodies.push(JSON.stringify({ instances: pair }));
  }
  await writeFile(payloads, `${bodies.join('\n')}\n`);
  for (const cloud of clouds) {
    const file = join(ws.dir, `source-${cloud.id}.yaml`);
    let text = await readFile(join(ROOT, cloud.example), 'utf8');
    text = text
      .replace(/uri: [^\n]*model\.onnx/, `uri: ${IRIS_MODEL}`)
      .replace(/name: iris\n/, `name: iris-${cloud.id}-${process.pid}\n`);
    await writeFile(file, text);
    sources.set(cloud.id, file);
    const applied = await cli(['apply', file, '--yes']);
    expect(applied.code, `${cloud.id}: ${applied.stderr}`).toBe(0);
    deployed.push(file);
  }
}, 240_000);

afterAll(async () => {
  for (const file of deployed.reverse()) await cli(['destroy', file, '--yes']).catch(() => undefined);
  await stop?.();
  await ws?.cleanup();
}, 240_000);

describe('migrate --apply between every ordered pair of providers', { timeout: 180_000 }, () => {
  const ids = ['aws', 'azure', 'gcp', 'local'];
  for (const from of ids) {
    for (const to of ids) {
      if (from === to) continue;
      it(`${from} → ${to}: migrates, applies on the emulator and passes compare against the source`, async () => {
        const cloud = clouds.find((c) => c.id === to);
        const source = sources.get(from);
        if (cloud === undefined || source === undefined) throw new Error(`no ${from} or ${to} in this run`);
        const out = join(ws.dir, `${from}-to-${to}.yaml`);
        const sets = Object.entries({
          ...cloud.required,
          'metadata.name': `iris-${from}-${to}-${process.pid}`,
        }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
        const region = from === 'local' && cloud.region !== undefined ? ['--region', cloud.region] : [];
        const args = ['migrate', source, '--to', to, '-o', out, ...region, ...sets];
        const result = await cli([
          ...args,
          '--apply',
          '--payloads',
          payloads,
          '--yes',
          '--report',
          join(ws.dir, `${from}-${to}.html`),
        ]);
        deployed.push(out);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toMatch(/PASS|parity passed/);
        const summary = JSON.parse(await readFile(join(ws.dir, `${from}-${to}.json`), 'utf8')) as {
          pass: boolean;
          matched: number;
          a: { provider: string };
          b: { provider: string };
        };
        expect(summary).toMatchObject({
          pass: true,
          matched: 10,
          a: { provider: from },
          b: { provider: to },
        });
        const destroyed = await cli(['destroy', out, '--yes']);
        expect(destroyed.code, destroyed.stderr).toBe(0);
        deployed.splice(deployed.indexOf(out), 1);
      });
    }
  }
});

describe('every example of every provider translates to every other one', () => {
  const EXAMPLES: Record<string, string[]> = {
    aws: [
      'examples/aws/iris-transform.yaml',
      'examples/aws/iris-async.yaml',
      'examples/aws/iris-serverless.yaml',
    ],
    azure: ['examples/azure/iris-batch.yaml', 'examples/azure/iris-async.yaml'],
    gcp: ['examples/gcp/iris-batch.yaml', 'examples/gcp/iris-async.yaml'],
    local: ['examples/iris/batch.yaml', 'examples/iris/async.yaml'],
  };
  it('and the results validate, with every field in the report', async () => {
    const outputs: string[] = [];
    for (const [from, files] of Object.entries(EXAMPLES)) {
      for (const cloud of clouds) {
        if (cloud.id === from) continue;
        for (const file of files) {
          const out = join(ws.dir, 'examples', `${cloud.id}-from-${file.replace(/\W+/g, '-')}.yaml`);
          const region = from === 'local' && cloud.region !== undefined ? ['--region', cloud.region] : [];
          const sets = Object.entries(cloud.required).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
          const result = await cli([
            '--output',
            'json',
            'migrate',
            join(ROOT, file),
            '--to',
            cloud.id,
            '-o',
            out,
            ...region,
            ...sets,
          ]);
          expect(result.code, `${file} → ${cloud.id}: ${result.stderr}`).toBe(0);
          const report = (
            JSON.parse(result.stdout) as { report: { todos: unknown[]; entries: { path: string }[] } }
          ).report;
          expect(report.todos, `${file} → ${cloud.id}`).toEqual([]);
          expect(report.entries.map((e) => e.path)).toContain('spec.model.uri');
          outputs.push(out);
        }
      }
    }
    const validated = await cli(['validate', ...outputs]);
    expect(validated.code, validated.stderr).toBe(0);
  });
});

describe('a round trip aws → gcp → azure → aws', () => {
  it('gives back the same neutral spec (and the AWS extensions it started with)', async () => {
    // Limits every target honours as written (1.5 MB is the Azure ML and shared Vertex maximum): a field a
    // target honours differently is lossy by definition and cannot come back.
    const start = join(ws.dir, 'round-0.yaml');
    const original = (await readFile(sources.get('aws') as string, 'utf8')).replace(
      /payloadMB: 6/,
      'payloadMB: 1.5',
    );
    await writeFile(start, original);
    let file = start;
    for (const [i, to] of ['gcp', 'azure', 'aws'].entries()) {
      const cloud = clouds.find((c) => c.id === to);
      const next = join(ws.dir, `round-${i + 1}.yaml`);
      const sets = Object.entries(cloud?.required ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
      const result = await cli(['--output', 'json', 'migrate', file, '--to', to, '-o', next, ...sets]);
      expect(result.code, result.stderr).toBe(0);
      const report = (JSON.parse(result.stdout) as { report: { todos: unknown[] } }).report;
      expect(report.todos).toEqual([]);
      file = next;
    }
    const before = load(original) as { spec: Record<string, unknown> };
    const after = load(await readFile(file, 'utf8')) as { spec: Record<string, unknown> };
    // The image is the one field that names a cloud (a registry): AWS's default for ONNX is that same
    // serving image in the account's ECR, which the plans below prove.
    const neutral = ({ extensions: _e, model, ...spec }: Record<string, unknown>) => {
      const { image: _image, ...rest } = model as Record<string, unknown>;
      return { ...spec, model: rest };
    };
    expect(neutral(after.spec)).toEqual(neutral(before.spec));
    expect((after.spec['extensions'] as Record<string, unknown>)['aws']).toEqual(
      (before.spec['extensions'] as Record<string, unknown>)['aws'],
    );
    // Equivalent down to the cloud resources: both plan the same SageMaker resources and properties.
    const plan = async (f: string) => {
      const r = await cli(['--output', 'json', 'plan', f]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { plans: { actions: unknown[] }[] }).plans.map((p) => p.actions);
    };
    expect(await plan(file)).toEqual(await plan(start));
    expect((await cli(['validate', file])).code).toBe(0);
  });
});
