// BatchJob as a Vertex AI batch prediction job, and async endpoints emulated through batch prediction,
// against the emulator: the input folder is uploaded, the job runs the model, the predictions come back.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { referencePredictions } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { IRIS_MODEL, ROOT, startHarness } from './testing/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);

describe('batch prediction', { sequential: true }, () => {
  let manifest: string;

  it("runs the iris batch job and downloads predictions equal to the runtime's", async () => {
    manifest = await h.manifest('iris-batch.yaml', 'batch.yaml', [
      ['output: ./vertex-output', `output: ${join(h.dir, 'out')}`],
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.failed).toEqual([]);
    const [job] = [...h.emulator.batchJobs.values()];
    expect(job).toMatchObject({
      state: 'JOB_STATE_SUCCEEDED',
      inputConfig: { instancesFormat: 'jsonl' },
      dedicatedResources: {
        machineSpec: { machineType: 'n1-standard-4' },
        startingReplicaCount: 2,
        maxReplicaCount: 2,
      },
      manualBatchTuningParameters: { batchSize: 64 },
    });
    // The job's files as Vertex writes them (custom container: prediction.results-*, errors_stats-*), and
    // the predictions put back in input order, one file per input as the local batch runner writes it.
    expect((await readdir(join(h.dir, 'out'))).sort()).toEqual([
      'flowers.jsonl.out',
      'prediction.errors_stats-00000-of-00001',
      'prediction.results-00000-of-00002',
      'prediction.results-00001-of-00002',
    ]);
    const instances = lines(await readFile(join(ROOT, 'examples/iris/batch-input/flowers.jsonl'), 'utf8'));
    const raw = lines(
      (
        await Promise.all(
          ['prediction.results-00000-of-00002', 'prediction.results-00001-of-00002'].map((f) =>
            readFile(join(h.dir, 'out', f), 'utf8'),
          ),
        )
      ).join(''),
    ) as { instance: unknown }[];
    // Vertex keeps no order: a reader that took the files as they are would be wrong.
    expect(raw.map((o) => o.instance)).not.toEqual(instances);
    const out = lines(await readFile(join(h.dir, 'out/flowers.jsonl.out'), 'utf8'));
    expect({ predictions: out }).toEqual(await referencePredictions(IRIS_MODEL, instances));
    const [status] = await h.modelport().status(manifest);
    expect(status?.state).toBe('succeeded');
  });

  it('says in the plan which batch fields Vertex AI cannot honour', async () => {
    const file = await h.manifest('iris-batch.yaml', 'retries.yaml', [
      ['concurrency: 2', 'concurrency: 2\n    maxRetries: 3'],
    ]);
    const [plan] = await h.modelport().plan(file);
    expect(plan?.diagnostics).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        code: 'gcp.ignoredField',
        path: 'spec.batch.maxRetries',
        message: expect.stringContaining('no retry count'),
      }),
    );
  });

  it('an unchanged re-apply does not run the job again (zero writes)', async () => {
    const writes = h.emulator.writeCalls();
    const [again] = await h.modelport().apply(manifest);
    expect(again?.result.executions).toBe(0);
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('a failed job is reported, and the next apply runs it again', async () => {
    const changed = await h.manifest('iris-batch.yaml', 'batch2.yaml', [
      ['output: ./vertex-output', `output: ${join(h.dir, 'out2')}`],
      ['miniBatchSize: 64', 'miniBatchSize: 16'],
    ]);
    h.emulator.faults.failJob(
      'iris-vertex-batch',
      'The replica workerpool0-0 exited with a non-zero status of 1.',
    );
    const [failed] = await h.modelport().apply(changed);
    expect(failed?.result.failed[0]?.error.message).toContain('non-zero status');
    const [status] = await h.modelport().status(changed);
    expect(status?.state).toBe('failed');
    const [rerun] = await h.modelport().apply(changed);
    expect(rerun?.result.failed).toEqual([]);
    expect((await h.modelport().status(changed))[0]?.state).toBe('succeeded');
  });

  it('reads CSV input (a header row, then one instance per row)', async () => {
    const input = join(h.dir, 'csv-input');
    await mkdir(input, { recursive: true });
    await writeFile(
      join(input, 'flowers.csv'),
      'sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n',
    );
    const file = await h.manifest('iris-batch.yaml', 'csv.yaml', [
      [/name: iris-vertex-batch$/m, 'name: iris-csv'],
      [`input: ${join(ROOT, 'examples/iris/batch-input')}`, `input: ${input}`],
      ['output: ./vertex-output', `output: ${join(h.dir, 'csv-out')}`],
      ['format: jsonl', 'format: csv'],
    ]);
    expect((await h.modelport().apply(file))[0]?.result.ok).toBe(true);
    const job = [...h.emulator.batchJobs.values()].find((j) =>
      String(j['displayName']).startsWith('iris-csv-'),
    );
    expect(job?.['inputConfig']).toMatchObject({
      instancesFormat: 'csv',
      gcsSource: { uris: [expect.stringMatching(/flowers\.csv$/)] },
    });
    const out = lines(await readFile(join(h.dir, 'csv-out/flowers.csv.out'), 'utf8'));
    expect({ predictions: out }).toEqual(
      await referencePredictions(IRIS_MODEL, [
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
      ]),
    );
    await h.modelport().destroy(file);
  });

  it('instances the model container refused are reported per input line, the others keep their order', async () => {
    const input = join(h.dir, 'bad-input');
    await mkdir(input, { recursive: true });
    const rows = [
      [5.1, 3.5, 1.4, 0.2],
      [1, 2],
      [6.7, 3.0, 5.2, 2.3],
    ];
    await writeFile(join(input, 'rows.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const file = await h.manifest('iris-batch.yaml', 'bad.yaml', [
      [/name: iris-vertex-batch$/m, 'name: iris-bad'],
      [`input: ${join(ROOT, 'examples/iris/batch-input')}`, `input: ${input}`],
      ['output: ./vertex-output', `output: ${join(h.dir, 'bad-out')}`],
      ['miniBatchSize: 64', 'miniBatchSize: 1'],
    ]);
    const warnings: string[] = [];
    const [outcome] = await h
      .modelport({
        onEvent: (e) => {
          if (e.type === 'log' && e.level === 'warn') warnings.push(e.message);
        },
      })
      .apply(file);
    expect(outcome?.result.ok).toBe(true);
    expect(warnings).toContainEqual(
      expect.stringMatching(/iris-bad-.*: 1 instance\(s\) failed: .*Non-OK result 400/),
    );
    const out = lines(await readFile(join(h.dir, 'bad-out/rows.jsonl.out'), 'utf8'));
    expect({ predictions: out }).toEqual(await referencePredictions(IRIS_MODEL, [rows[0], rows[2]]));
    const errors = lines(await readFile(join(h.dir, 'bad-out/rows.jsonl.errors.jsonl'), 'utf8'));
    expect(errors).toEqual([{ line: 2, error: expect.stringMatching(/Non-OK result 400/) }]);
    await h.modelport().destroy(file);
  });

  it('destroy deletes the jobs, the model, the uploaded input and the model folder', async () => {
    await h.modelport().destroy(manifest);
    expect(h.emulator.batchJobs.size).toBe(0);
    expect(h.emulator.models.size).toBe(0);
    expect(
      h.emulator.gcs
        .list('modelport-examples-artifacts', 'modelport/iris-vertex-batch/')
        .filter((o) => !o.name.includes('/batch-output/')),
    ).toEqual([]);
  });
});

describe('async endpoints, emulated by batch prediction', { sequential: true }, () => {
  it('plans the model only, and says the mode is emulated', async () => {
    const manifest = await h.manifest('iris-async.yaml', 'async.yaml');
    const [plan] = await h.modelport().plan(manifest);
    expect(plan?.actions.map((a) => a.type)).toEqual(['gcs:ModelFolder', 'vertex:Model']);
    expect(plan?.diagnostics.map((d) => `${d.severity} ${d.message}`)).toContainEqual(
      expect.stringMatching(/^warning .*no native async endpoint.*batch prediction job/),
    );
  });

  it('refuses async without spec.async.allowEmulation, saying how to allow it', async () => {
    const refused = await h.manifest('iris-async.yaml', 'refused.yaml', [
      ['allowEmulation: true', 'allowEmulation: false'],
    ]);
    const error = await h
      .modelport()
      .plan(refused)
      .catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/allowEmulation/);
  });

  it("invoke --async runs a batch prediction job; its result equals the runtime's predictions", async () => {
    const manifest = await h.manifest('iris-async.yaml', 'async.yaml');
    expect((await h.modelport().apply(manifest))[0]?.result.ok).toBe(true);
    const payload = await readFile(join(ROOT, 'examples/iris/payload.json'));
    const handle = await h
      .modelport()
      .invokeAsync(manifest, { body: payload, contentType: 'application/json' });
    expect(handle.id).toMatch(/^gcp\/iris-async\/modelport-examples~us-central1~\d+$/);
    let result = await h.modelport().asyncResult(handle.id);
    for (let i = 0; i < 300 && (result.state === 'queued' || result.state === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      result = await h.modelport().asyncResult(handle.id);
    }
    expect(result.state).toBe('succeeded');
    const expected = await referencePredictions(
      IRIS_MODEL,
      (JSON.parse(payload.toString()) as { instances: unknown[] }).instances,
    );
    expect(JSON.parse(Buffer.from(result.body ?? []).toString('utf8'))).toEqual(expected);
    await h.modelport().destroy(manifest);
    expect(h.emulator.models.size).toBe(0);
    // The request's batch job went with the model.
    expect(h.emulator.batchJobs.size).toBe(0);
  });

  it('an async request the model container refuses is failed, with the container error', async () => {
    const manifest = await h.manifest('iris-async.yaml', 'async-bad.yaml');
    expect((await h.modelport().apply(manifest))[0]?.result.ok).toBe(true);
    const handle = await h.modelport().invokeAsync(manifest, {
      body: Buffer.from(
        JSON.stringify({
          instances: [
            [5.1, 3.5, 1.4, 0.2],
            [1, 2],
          ],
        }),
      ),
      contentType: 'application/json',
    });
    let result = await h.modelport().asyncResult(handle.id);
    for (let i = 0; i < 300 && (result.state === 'queued' || result.state === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      result = await h.modelport().asyncResult(handle.id);
    }
    expect(result).toMatchObject({
      state: 'failed',
      // The batch held both instances: the container refused it, so the job failed as a whole.
      error: expect.stringMatching(/Non-OK result 400.*expected 4 values/),
    });
    await h.modelport().destroy(manifest);
  });
});
