// `modelport migrate` and `modelport compare` through the built CLI on the local provider: the report of
// every field, --strict, TODOs that validation refuses, the parity report (opened in headless Chromium,
// its charts drawn), a parity failure from a perturbed model, and `migrate --apply` that destroys the
// source only after parity passed and never touches it when parity fails.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from './helpers.js';
import { createWorkspace, IRIS_MODEL, ROOT, runCli, runCliJson, statusOf, writeManifest } from './helpers.js';

const { onnx } = onnxProto;
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const AWS_EXAMPLE = join(ROOT, 'examples/aws/iris-realtime.yaml');

let ws: Workspace;
let source: string;
let payloads: string;
let perturbedModel: string;

/** The iris model with the output layer's biases pushed apart: other labels, a real parity failure. */
async function writePerturbedModel(path: string): Promise<void> {
  const model = onnx.ModelProto.decode(await readFile(IRIS_MODEL));
  const graph = model.graph;
  if (graph === null || graph === undefined) throw new Error('iris model has no graph');
  const last = graph.initializer?.filter((t) => t.dims?.length === 1).at(-1);
  if (last === undefined) throw new Error('iris model has no bias initializer');
  const raw = last.rawData !== undefined && last.rawData !== null && last.rawData.length > 0;
  const values = raw
    ? Array.from(new Float32Array(new Uint8Array(last.rawData as Uint8Array).slice().buffer))
    : [...(last.floatData ?? [])];
  const pushed = values.map((v, i) => v + (i === 0 ? 50 : 0)); // class 0 wins everywhere
  if (raw) last.rawData = new Uint8Array(new Float32Array(pushed).buffer);
  else last.floatData = pushed;
  await writeFile(path, onnx.ModelProto.encode(model).finish());
}

beforeAll(async () => {
  ws = await createWorkspace('migrate-local');
  source = await writeManifest(join(ws.dir, 'source.yaml'), 'endpoint', [
    [/name: iris$/m, `name: iris-src-${process.pid}`],
  ]);
  ws.track(source);
  payloads = join(ws.dir, 'payloads.jsonl');
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.7, 3.0, 5.2, 2.3],
    [5.9, 3.0, 4.2, 1.5],
    [4.9, 3.0, 1.4, 0.2],
    [6.3, 2.9, 5.6, 1.8],
  ];
  await writeFile(
    payloads,
    rows.map((r, i) => JSON.stringify({ instances: [r, rows[(i + 1) % rows.length]] })).join('\n'),
  );
  perturbedModel = join(ws.dir, 'perturbed.onnx');
  await writePerturbedModel(perturbedModel);
  const applied = await runCli(['apply', source, '--yes'], { stateDir: ws.stateDir });
  expect(applied.code, applied.stderr).toBe(0);
});

afterAll(async () => {
  await ws?.cleanup();
});

describe('modelport migrate (translation only)', () => {
  it('translates the AWS example to local with a report of every field; -o names the output file', async () => {
    const out = join(ws.dir, 'from-aws.local.yaml');
    const result = await runCliJson<{
      ok: boolean;
      out: string;
      report: { entries: { path: string; outcome: string; line?: number }[] };
    }>(['migrate', AWS_EXAMPLE, '--to', 'local', '-o', out], { stateDir: ws.stateDir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json.out).toBe(out);
    const text = await readFile(out, 'utf8');
    expect(text).toContain('# The iris classifier as a SageMaker real-time endpoint.');
    expect(text).toContain('provider: local');
    expect(text).not.toContain('region:');
    const outcome = (p: string) => result.json.report.entries.find((e) => e.path === p)?.outcome;
    expect(outcome('spec.target.region')).toBe('translated');
    expect(outcome('spec.scaling.maxReplicas')).toBe('lossy');
    expect(outcome('spec.extensions.aws.rollbackAlarms')).toBe('lossy');
    expect(outcome('spec.model.signature.inputs.0.shape')).toBe('carried');
    const validated = await runCli(['validate', out], { stateDir: ws.stateDir });
    expect(validated.code, validated.stderr).toBe(0);
  });

  it('exits non-zero under --strict when a feature cannot be honoured, and lists it', async () => {
    const result = await runCli(
      ['migrate', AWS_EXAMPLE, '--to', 'local', '--strict', '-o', join(ws.dir, 'strict.yaml')],
      {
        stateDir: ws.stateDir,
      },
    );
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/spec\.extensions\.aws\.rollbackAlarms\s+lossy/);
    expect(result.stderr).toMatch(/--strict: 4 field\(s\) lossy or unsupported/);
  });

  it('leaves what only the user knows as TODOs that validate refuses at their line', async () => {
    const out = join(ws.dir, 'to-aws.yaml');
    const migrated = await runCli(['migrate', source, '--to', 'aws', '-o', out], { stateDir: ws.stateDir });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stderr).toMatch(/fill in before applying/);
    const validated = await runCliJson<{
      files: { diagnostics: { code: string; path: string; line: number }[] }[];
    }>(['validate', out], {
      stateDir: ws.stateDir,
    });
    expect(validated.code).toBe(2);
    const todos = (validated.json.files[0]?.diagnostics ?? []).filter((d) => d.code === 'migrate.todo');
    expect(todos.every((d) => d.line > 20)).toBe(true);
    expect(todos.map((d) => d.path).sort()).toEqual([
      'spec.extensions.aws.bucket',
      'spec.extensions.aws.roleArn',
      'spec.target.region',
    ]);
    const filled = await runCli(
      [
        'migrate',
        source,
        '--to',
        'aws',
        '--region',
        'eu-west-1',
        '-o',
        out,
        '--set',
        'spec.extensions.aws.roleArn=arn:aws:iam::123456789012:role/r',
        '--set',
        'spec.extensions.aws.bucket=my-models',
      ],
      { stateDir: ws.stateDir },
    );
    expect(filled.code, filled.stderr).toBe(0);
    expect((await runCli(['validate', out], { stateDir: ws.stateDir })).code).toBe(0);
  });
});

describe('modelport compare', () => {
  let target: string;
  let report: string;

  it('passes between the source and its migrated copy, and writes the HTML report and JSON summary', async () => {
    target = join(ws.dir, 'copy.yaml');
    const migrated = await runCli(
      ['migrate', source, '--to', 'local', '-o', target, '--set', `metadata.name=iris-copy-${process.pid}`],
      {
        stateDir: ws.stateDir,
      },
    );
    expect(migrated.code, migrated.stderr).toBe(0);
    ws.track(target);
    expect((await runCli(['apply', target, '--yes'], { stateDir: ws.stateDir })).code).toBe(0);
    report = join(ws.dir, 'parity.html');
    const summary = join(ws.dir, 'parity.json');
    const compared = await runCli(
      ['compare', source, target, '--payloads', payloads, '--report', report, '--summary', summary],
      {
        stateDir: ws.stateDir,
      },
    );
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stdout).toMatch(/PASS 5 payload\(s\): 5 matched/);
    const json = JSON.parse(await readFile(summary, 'utf8')) as {
      pass: boolean;
      latency: { a: { count: number } };
    };
    expect(json.pass).toBe(true);
    expect(json.latency.a.count).toBe(5);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'the report opens in headless Chromium and its charts render',
    async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`file://${report}`);
        expect(await page.textContent('#verdict')).toBe('PASS');
        const bars = await page.$$eval('#latency-histogram rect.bar', (els) =>
          els.map((e) => e.getBoundingClientRect()).map((b) => b.width * b.height),
        );
        expect(bars.length).toBeGreaterThan(0);
        expect(bars.every((area) => area > 0)).toBe(true);
        for (const k of ['a', 'b']) {
          const drawn = await page.$eval(
            `#latency-series .series-${k}`,
            (el) => el.getBoundingClientRect().width,
          );
          expect(drawn).toBeGreaterThan(100);
        }
        const shot = await page.locator('#latency-histogram').screenshot();
        expect(shot.length).toBeGreaterThan(1000); // a PNG with content, not a blank box
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );

  it('fails with exit 11 and lists the mismatches when the answers differ', async () => {
    const other = await writeManifest(join(ws.dir, 'perturbed.yaml'), 'endpoint', [
      [/name: iris$/m, `name: iris-bad-${process.pid}`],
      [`uri: ${IRIS_MODEL}`, `uri: ${perturbedModel}`],
    ]);
    ws.track(other);
    expect((await runCli(['apply', other, '--yes'], { stateDir: ws.stateDir })).code).toBe(0);
    const html = join(ws.dir, 'bad.html');
    const compared = await runCli(
      ['compare', source, other, '-p', payloads, '--report', html, '--summary', join(ws.dir, 'bad.json')],
      {
        stateDir: ws.stateDir,
      },
    );
    expect(compared.code).toBe(11);
    expect(compared.stdout).toMatch(/FAIL 5 payload\(s\)/);
    expect(compared.stderr).toMatch(/labels differ|scores differ/);
    expect(await readFile(html, 'utf8')).toMatch(/<tr class="mismatch">/);
  });
});

describe('modelport migrate --apply', () => {
  it('keeps the source untouched and removes the target when parity fails', async () => {
    const out = join(ws.dir, 'apply-bad.yaml');
    const name = `iris-applybad-${process.pid}`;
    const result = await runCli(
      [
        'migrate',
        source,
        '--to',
        'local',
        '-o',
        out,
        '--set',
        `metadata.name=${name}`,
        '--set',
        `spec.model.uri=${perturbedModel}`,
        '--apply',
        '-p',
        payloads,
        '--on-pass',
        'destroy-source',
        '--yes',
      ],
      { stateDir: ws.stateDir },
    );
    ws.track(out);
    expect(result.code, result.stderr).toBe(11);
    expect(result.stderr).toMatch(/parity failed: .* removed; .* untouched/);
    expect((await statusOf(source, ws.stateDir)).state).toBe('ready');
    expect((await statusOf(out, ws.stateDir)).state).toBe('absent');
  });

  it('deploys the target, checks parity, then destroys the source as asked', async () => {
    const out = join(ws.dir, 'apply-good.yaml');
    const result = await runCli(
      [
        'migrate',
        source,
        '--to',
        'local',
        '-o',
        out,
        '--set',
        `metadata.name=iris-moved-${process.pid}`,
        '--apply',
        '-p',
        payloads,
        '--on-pass',
        'destroy-source',
        '--yes',
      ],
      { stateDir: ws.stateDir },
    );
    ws.track(out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/parity passed; .* destroyed/);
    expect(existsSync(out.replace(/\.yaml$/, '.parity.html'))).toBe(true);
    expect((await statusOf(out, ws.stateDir)).state).toBe('ready');
    expect((await statusOf(source, ws.stateDir)).state).toBe('absent');
  });

  it('refuses --apply while artifacts still sit in another cloud, naming the copy steps', async () => {
    const fromS3 = join(ws.dir, 'from-s3.yaml');
    const text = (await readFile(AWS_EXAMPLE, 'utf8')).replace(
      'uri: ../iris/model.onnx',
      'uri: s3://models/iris/model.onnx',
    );
    await writeFile(fromS3, text);
    const out = join(ws.dir, 'from-s3.local.yaml');
    const result = await runCli(
      ['migrate', fromS3, '--to', 'local', '-o', out, '--apply', '-p', payloads, '--yes'],
      {
        stateDir: ws.stateDir,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /copy the artifacts to local first \(s3:\/\/models\/iris\/model\.onnx → \.\/model\.onnx\); nothing deployed/,
    );
    expect(await readFile(out, 'utf8')).toContain('uri: ./model.onnx');
  });

  it('refuses --apply while TODOs remain, before deploying anything', async () => {
    const result = await runCli(
      ['migrate', source, '--to', 'aws', '-o', join(ws.dir, 'todo.yaml'), '--apply', '-p', payloads, '--yes'],
      {
        stateDir: ws.stateDir,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/to fill in before the target can be deployed; nothing deployed/);
  });
});
