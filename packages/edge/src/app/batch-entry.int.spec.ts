// `run batch` in process: local folders (JSON Lines and CSV), bad records and --max-failed, resume, shards,
// and S3 in and out against the AWS emulator with the real SDK.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createJsonLogger } from '@modelport/runtime';
import { AwsEmulator } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../testing/fixtures.js';
import { runBatchJob, type BatchJobResult } from './batch-entry.js';
import type { BundleManifest } from './bundle-format.js';
import { parseRunOptions } from './run-options.js';

const IRIS = join(REPO_ROOT, 'examples/iris/model.onnx');
let work: string;
let bundleDir: string;
const manifest = {
  name: 'iris-edge',
  serve: { model: 'model/model.onnx', name: 'iris' },
} as unknown as BundleManifest;

async function job(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<BatchJobResult & { logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const logger = createJsonLogger({
    level: 'debug',
    stream: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const options = parseRunOptions(['batch', ...argv], env);
  const result = await runBatchJob({
    bundleDir,
    manifest,
    options,
    logger,
    env,
    loadS3: () => import('./s3-storage.js'),
    tmpDir: work,
  });
  return { ...result, logs };
}

async function lines(path: string): Promise<unknown[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

const ROWS = ['[5.1,3.5,1.4,0.2]', '[6.7,3.0,5.2,2.3]', '[5.9,3.0,4.2,1.5]'];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-batch-entry-'));
  bundleDir = join(work, 'bundle');
  await mkdir(join(bundleDir, 'model'), { recursive: true });
  await copyFile(IRIS, join(bundleDir, 'model/model.onnx'));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('run batch over local folders', () => {
  it('writes <file>.out and <file>.errors.jsonl for JSON Lines and CSV, and exits 0 within --max-failed', async () => {
    const input = join(work, 'in-mixed');
    const output = join(work, 'out-mixed');
    await mkdir(input);
    await writeFile(join(input, 'a.jsonl'), `${ROWS[0]}\nnot json\n${ROWS[1]}\n`);
    await writeFile(join(input, 'b.csv'), 'a,b,c,d\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n');
    await writeFile(join(input, 'notes.txt'), 'not an input');
    const result = await job(['--input', input, '--output', output, '--max-failed', '1']);
    expect(result).toMatchObject({ code: 0, files: 2, skipped: 0, records: 5, failed: 1 });
    const a = (await lines(join(output, 'a.jsonl.out'))) as { label: number }[];
    expect(a.map((p) => p.label)).toEqual([0, 2]);
    expect(await lines(join(output, 'a.jsonl.errors.jsonl'))).toEqual([
      { line: 2, error: expect.stringMatching(/malformed JSON/) as unknown },
    ]);
    expect(((await lines(join(output, 'b.csv.out'))) as { label: number }[]).map((p) => p.label)).toEqual([
      0, 2,
    ]);
    const names = await readdir(output);
    expect(names.sort()).toEqual(['.modelport', 'a.jsonl.errors.jsonl', 'a.jsonl.out', 'b.csv.out']);
    expect((await readdir(join(output, '.modelport'))).sort()).toEqual([
      'a.jsonl.done.json',
      'b.csv.done.json',
    ]);
    expect(result.logs.find((l) => l['msg'] === 'model source')).toMatchObject({ source: 'bundled' });
    expect(result.logs.find((l) => l['msg'] === 'batch done')).toMatchObject({
      files: 2,
      records: 5,
      failed: 1,
      ok: true,
    });
  });

  it('fails (exit 1) past --max-failed (default 0), with the bad records listed and no .out for that file', async () => {
    const input = join(work, 'in-bad');
    const output = join(work, 'out-bad');
    await mkdir(input);
    await writeFile(join(input, 'a.jsonl'), `${ROWS[0]}\n[1,2]\n${ROWS[1]}\n`);
    await writeFile(join(input, 'b.jsonl'), `${ROWS[2]}\n`);
    const result = await job(['--input', input, '--output', output]);
    expect(result.code).toBe(1);
    expect(result.failed).toBe(1);
    expect(await lines(join(output, 'a.jsonl.errors.jsonl'))).toEqual([
      { line: 2, error: expect.any(String) as unknown },
    ]);
    const names = await readdir(output);
    expect(names).not.toContain('a.jsonl.out');
    expect(names).not.toContain('b.jsonl.out');
    expect(result.logs.find((l) => l['msg'] === 'batch done')).toMatchObject({ ok: false, failed: 1 });
  });

  it('resumes: a retried job skips the files it finished, and redoes one whose content changed', async () => {
    const input = join(work, 'in-resume');
    const output = join(work, 'out-resume');
    await mkdir(input);
    for (const [i, row] of ROWS.entries())
      await writeFile(join(input, `part-${i}.jsonl`), `${row}\n${row}\n`);
    const first = await job(['--input', input, '--output', output]);
    expect(first).toMatchObject({ code: 0, files: 3, skipped: 0, records: 6 });
    const before = await readFile(join(output, 'part-0.jsonl.out'), 'utf8');

    const second = await job(['--input', input, '--output', output]);
    expect(second).toMatchObject({ code: 0, files: 3, skipped: 3, records: 6, failed: 0 });
    expect(
      second.logs.filter((l) => l['msg'] === 'batch file').every((l) => l['skipped'] === 'done before'),
    ).toBe(true);

    // Same size, other content: the marker is bound to the content, not the size.
    await writeFile(join(input, 'part-1.jsonl'), `${ROWS[0]}\n${ROWS[0]}\n`);
    const third = await job(['--input', input, '--output', output]);
    expect(third).toMatchObject({ code: 0, skipped: 2 });
    expect(
      ((await lines(join(output, 'part-1.jsonl.out'))) as { label: number }[]).map((p) => p.label),
    ).toEqual([0, 0]);
    expect(await readFile(join(output, 'part-0.jsonl.out'), 'utf8')).toBe(before);
  });

  it('stopped mid-file (SIGTERM), continues from its checkpoint when run again: every row once, in order', async () => {
    const input = join(work, 'in-interrupted');
    const output = join(work, 'out-interrupted');
    await mkdir(input);
    const rows = Array.from({ length: 60_000 }, (_, i) => ROWS[i % 3] as string);
    await writeFile(join(input, 'big.jsonl'), `${rows.join('\n')}\n`);
    const abort = new AbortController();
    const checkpoint = join(output, '.modelport/big.jsonl.work/out/.modelport-batch.json');
    const watch = setInterval(() => {
      void readFile(checkpoint, 'utf8').then(
        () => abort.abort(new Error('interrupted by SIGTERM')),
        () => undefined,
      );
    }, 2);
    const options = parseRunOptions(
      ['batch', '--input', input, '--output', output, '--batch-size', '16'],
      {},
    );
    const logger = createJsonLogger({ level: 'error', stream: { write: () => true } });
    const context = { bundleDir, manifest, options, logger, env: {}, tmpDir: work };
    try {
      await expect(runBatchJob({ ...context, signal: abort.signal })).rejects.toThrow(/interrupted/);
    } finally {
      clearInterval(watch);
    }
    const saved = JSON.parse(await readFile(checkpoint, 'utf8')) as {
      files: Record<string, { rows: number; done: boolean }>;
    };
    const partial = saved.files['input.jsonl'];
    expect(partial?.done).toBe(false);
    expect(partial?.rows).toBeLessThan(rows.length);
    expect(await readdir(output)).not.toContain('big.jsonl.out');

    const resumed = await runBatchJob(context);
    expect(resumed).toMatchObject({ code: 0, records: rows.length, failed: 0 });
    const labels = ((await lines(join(output, 'big.jsonl.out'))) as { label: number }[]).map((p) => p.label);
    expect(labels).toHaveLength(rows.length);
    expect(labels.slice(0, 6)).toEqual([0, 2, 1, 0, 2, 1]);
    expect(labels.every((label, i) => label === [0, 2, 1][i % 3])).toBe(true);
    expect(await readdir(join(output, '.modelport'))).toEqual(['big.jsonl.done.json']);
  });

  it('takes its shard of the sorted files (JOB_COMPLETION_INDEX of an Indexed Job, MODELPORT_BATCH_SHARDS)', async () => {
    const input = join(work, 'in-shards');
    await mkdir(input);
    for (const name of ['e', 'a', 'd', 'b', 'c'])
      await writeFile(join(input, `${name}.jsonl`), `${ROWS[0]}\n`);
    const processed = async (index: string) => {
      const output = join(work, `out-shard-${index}`);
      const result = await job([], {
        MODELPORT_BATCH_INPUT: input,
        MODELPORT_BATCH_OUTPUT: output,
        MODELPORT_BATCH_SHARDS: '2',
        JOB_COMPLETION_INDEX: index,
      });
      expect(result.code).toBe(0);
      return (await readdir(output)).filter((n) => n.endsWith('.out')).sort();
    };
    expect(await processed('0')).toEqual(['a.jsonl.out', 'c.jsonl.out', 'e.jsonl.out']);
    expect(await processed('1')).toEqual(['b.jsonl.out', 'd.jsonl.out']);
  });

  it('reads every file of the folder in the format given (MODELPORT_BATCH_FORMAT), whatever its extension', async () => {
    const input = join(work, 'in-format');
    const output = join(work, 'out-format');
    await mkdir(input);
    await writeFile(join(input, 'data.txt'), '5.1,3.5,1.4,0.2\n');
    const result = await job([], {
      MODELPORT_BATCH_INPUT: input,
      MODELPORT_BATCH_OUTPUT: output,
      MODELPORT_BATCH_FORMAT: 'csv',
      MODELPORT_BATCH_SIZE: '2',
    });
    expect(result).toMatchObject({ code: 0, files: 1, records: 1 });
    expect(await lines(join(output, 'data.txt.out'))).toHaveLength(1);
  });

  it('serves the model of MODELPORT_MODEL (a folder) with the signature.json beside it', async () => {
    const modelDir = join(work, 'platform-model');
    await mkdir(join(modelDir, 'inner'), { recursive: true });
    await copyFile(IRIS, join(modelDir, 'inner/iris.onnx'));
    await writeFile(
      join(modelDir, 'inner/signature.json'),
      JSON.stringify({
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
        outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
      }),
    );
    const input = join(work, 'in-sig.jsonl');
    await writeFile(input, `${ROWS[1]}\n`);
    const output = join(work, 'out-sig');
    const result = await job(['--input', input, '--output', output], { MODELPORT_MODEL: modelDir });
    expect(result.code).toBe(0);
    expect(result.logs.find((l) => l['msg'] === 'model source')).toMatchObject({
      source: 'MODELPORT_MODEL',
      path: join(modelDir, 'inner/iris.onnx'),
      signature: join(modelDir, 'inner/signature.json'),
    });
    // Only the declared output (one output: its bare value per line).
    expect(await lines(join(output, 'in-sig.jsonl.out'))).toEqual([2]);
  });
});

describe('run batch with S3 (AWS emulator, real SDK)', () => {
  let aws: AwsEmulator;
  const saved: Record<string, string | undefined> = {};
  const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIAEMULATOREXAMPLE', AWS_SECRET_ACCESS_KEY: 'emulator-secret' };

  beforeAll(async () => {
    aws = new AwsEmulator({ buckets: ['jobs'] });
    await aws.start();
    // The SDK's default credential chain reads process.env.
    for (const [k, v] of Object.entries(CREDENTIALS)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await aws?.stop();
  });

  it('downloads model.tar.gz and the inputs, uploads <file>.out and errors, and skips them when run again', async () => {
    const archiveDir = join(work, 'tar-src');
    await mkdir(archiveDir);
    await copyFile(IRIS, join(archiveDir, 'iris.onnx'));
    await writeFile(
      join(archiveDir, 'signature.json'),
      JSON.stringify({
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
        outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
      }),
    );
    const archive = join(work, 'model.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', archiveDir, 'iris.onnx', 'signature.json']);
    await aws.s3.putFile('jobs', 'models/iris/model.tar.gz', archive);
    await aws.s3.putBuffer('jobs', 'in/one.jsonl', `${ROWS[0]}\n${ROWS[1]}\n`);
    await aws.s3.putBuffer('jobs', 'in/two.csv', `5.9,3.0,4.2,1.5\nx,y\n`);
    await aws.s3.putBuffer('jobs', 'in/nested/skip.jsonl', `${ROWS[0]}\n`);
    const env = {
      MODELPORT_MODEL: 's3://jobs/models/iris/model.tar.gz',
      MODELPORT_BATCH_INPUT: 's3://jobs/in/',
      MODELPORT_BATCH_OUTPUT: 's3://jobs/out',
      MODELPORT_BATCH_MAX_FAILED: '1',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: aws.url,
    };
    const first = await job([], env);
    expect(first).toMatchObject({ code: 0, files: 2, skipped: 0, records: 4, failed: 1 });
    expect(first.logs.find((l) => l['msg'] === 'model source')).toMatchObject({
      source: 'MODELPORT_MODEL',
      from: 's3://jobs/models/iris/model.tar.gz',
    });
    const text = async (key: string) => {
      const object = aws.s3.get('jobs', key);
      if (object === undefined) throw new Error(`no object ${key}`);
      return readFile(object.path, 'utf8');
    };
    expect(await text('out/one.jsonl.out')).toBe('0\n2\n');
    expect(await text('out/two.csv.out')).toBe('1\n');
    expect(JSON.parse(await text('out/two.csv.errors.jsonl'))).toMatchObject({ line: 2 });
    expect(aws.s3.get('jobs', 'out/.modelport/one.jsonl.done.json')).toBeDefined();
    expect(aws.s3.get('jobs', 'out/nested/skip.jsonl.out')).toBeUndefined();

    const second = await job([], env);
    expect(second).toMatchObject({ code: 0, files: 2, skipped: 2, records: 4, failed: 1 });
    // The downloaded model and the staged files are gone once the job ends.
    expect((await readdir(work)).filter((n) => /^modelport-(model|batch)-/.test(n))).toEqual([]);
  });

  it('takes a model prefix (S3Prefix, with or without the trailing /) and one input object', async () => {
    await aws.s3.putFile('jobs', 'models/prefix-model/iris.onnx', IRIS);
    await aws.s3.putBuffer(
      'jobs',
      'models/prefix-model/signature.json',
      JSON.stringify({
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
        outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
      }),
    );
    await aws.s3.putBuffer('jobs', 'single/rows.jsonl', `${ROWS[2]}\n`);
    const result = await job([], {
      MODELPORT_MODEL: 's3://jobs/models/prefix-model',
      MODELPORT_BATCH_INPUT: 's3://jobs/single/rows.jsonl',
      MODELPORT_BATCH_OUTPUT: 's3://jobs/single-out/',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: aws.url,
    });
    expect(result).toMatchObject({ code: 0, files: 1, records: 1 });
    const out = aws.s3.get('jobs', 'single-out/rows.jsonl.out');
    expect(await readFile(out?.path ?? '', 'utf8')).toBe('1\n');
  });

  it('uploads a large output as a multipart upload, and downloads it back intact', async () => {
    const { S3Store } = await import('./s3-storage.js');
    const store = new S3Store(
      { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: aws.url },
      { partBytes: 5 * 1024 * 1024 },
    );
    try {
      const big = join(work, 'big.out');
      const bytes = Buffer.alloc(11 * 1024 * 1024 + 123);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
      await writeFile(big, bytes);
      const parts = aws.calls('UploadPart');
      await store.upload(big, { bucket: 'jobs', key: 'big/big.out' }, 'application/jsonl');
      expect(aws.calls('UploadPart') - parts).toBe(3);
      expect(aws.s3.openUploads()).toBe(0);
      expect((await store.head({ bucket: 'jobs', key: 'big/big.out' }))?.size).toBe(bytes.length);
      await store.download({ bucket: 'jobs', key: 'big/big.out' }, join(work, 'big.back'));
      expect((await readFile(join(work, 'big.back'))).equals(bytes)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('fails with the reason when the model object is missing', async () => {
    await expect(
      job([], {
        MODELPORT_MODEL: 's3://jobs/models/nope.onnx',
        MODELPORT_BATCH_INPUT: 's3://jobs/in/',
        MODELPORT_BATCH_OUTPUT: 's3://jobs/out-nope/',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_S3: aws.url,
      }),
    ).rejects.toThrow(/s3:\/\/jobs\/models\/nope\.onnx: no such object, and no objects under it/);
  });
});
