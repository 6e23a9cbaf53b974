// BatchJob as an Azure ML command job running the serving image's batch mode, and async endpoints emulated
// by command jobs: the input folder goes to azurite, the emulator runs the real image over it (inputs and
// outputs mounted, status from its exit code), the output comes back to the output folder.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

const rows = (text: string): unknown[] =>
  text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

const commandJobs = (prefix: string) =>
  h.emulator
    .list('jobs')
    .filter((j) => j.name.startsWith(prefix))
    .map((j) => j.body['properties'] as Record<string, unknown>);

describe('Azure ML command jobs running the serving image (emulated)', { sequential: true }, () => {
  let file: string;
  let output: string;

  it('runs the iris batch example through the image and writes what the runtime predicts', async () => {
    output = join(h.dir, 'out');
    file = await h.manifest('iris-batch.yaml', 'batch.yaml', [
      ['output: ./batch-output', `output: ${output}`],
    ]);
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.failed).toEqual([]);
    // No batch endpoint: a custom model's batch deployment would need a Python scoring script.
    expect(h.emulator.list('batchEndpoints')).toEqual([]);
    const [job] = commandJobs('iris-batch-');
    expect(job).toMatchObject({
      jobType: 'Command',
      status: 'Completed',
      command: expect.stringMatching(
        /run\.mjs batch --model \$\{\{inputs\.model\}\} --input \$\{\{inputs\.data\}\}/,
      ),
      // Records per model call and bad records, as the manifest means them.
      environmentVariables: {
        MODELPORT_BATCH_SIZE: '1024',
        MODELPORT_BATCH_MAX_FAILED: '0',
        MODELPORT_BATCH_FORMAT: 'jsonl',
      },
      inputs: { model: { jobInputType: 'uri_file' }, data: { jobInputType: 'uri_folder' } },
      outputs: { predictions: { jobOutputType: 'uri_folder' } },
      tags: { 'modelport.dev.job': expect.stringMatching(/^iris-batch-/) },
    });
    expect(String(job?.['computeId'])).toMatch(/\/computes\/cpu-cluster$/);
    const input = (await readFile(join(ROOT, 'examples/iris/batch-input/flowers.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as number[]);
    const { predictions } = await referencePredictions(IRIS_MODEL, input);
    expect(rows(await readFile(join(output, 'flowers.jsonl.out'), 'utf8'))).toEqual(predictions);
    const [status] = await h.modelport().status(file);
    expect(status?.state).toBe('succeeded');
  });

  it('re-applying does not run the job again (zero writes)', async () => {
    const writes = h.emulator.writeCalls();
    const [again] = await h.modelport().apply(file);
    expect(again?.result.executions).toBe(0);
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('a failed run is retried as a new job, up to maxRetries', async () => {
    const retried = await h.manifest('iris-batch.yaml', 'batch-retried.yaml', [
      [/name: iris-batch$/m, 'name: iris-retried'],
      ['output: ./batch-output', `output: ${join(h.dir, 'out-retried')}`],
    ]);
    h.emulator.faults.failJob('*', 'UserError: the node was preempted');
    const [outcome] = await h.modelport().apply(retried);
    expect(outcome?.result.failed).toEqual([]);
    expect(commandJobs('iris-retried-').map((j) => j['status'])).toEqual(['Failed', 'Completed']);
    await h.modelport().destroy(retried);
  });

  it('a failed job is reported, and the next apply runs it again', async () => {
    const changed = await h.manifest('iris-batch.yaml', 'batch-2.yaml', [
      ['output: ./batch-output', `output: ${join(h.dir, 'out-2')}`],
      ['maxRetries: 2', 'maxRetries: 0'],
    ]);
    h.emulator.faults.failJob('*', 'UserError: the node was preempted');
    const [failed] = await h.modelport().apply(changed);
    expect(failed?.result.ok).toBe(false);
    expect(failed?.result.failed[0]?.error.message).toMatch(/node was preempted/);
    const [status] = await h.modelport().status(changed);
    expect(status?.state).toBe('failed');
    const [rerun] = await h.modelport().apply(changed);
    expect(rerun?.result.failed).toEqual([]);
    expect(rerun?.result.done.some((id) => id.startsWith('azureml:BatchJob/'))).toBe(true);
  });

  it('errorThreshold counts bad records: the image fails a job with threshold 0, not one with -1', async () => {
    const input = join(h.dir, 'bad-input');
    await mkdir(input, { recursive: true });
    await writeFile(join(input, 'rows.jsonl'), '[5.1,3.5,1.4,0.2]\n"not a row"\n[6.7,3.0,5.2,2.3]\n');
    const strict = await h.manifest('iris-batch.yaml', 'strict.yaml', [
      [/name: iris-batch$/m, 'name: iris-strict'],
      [/input: .*batch-input/, `input: ${input}`],
      ['output: ./batch-output', `output: ${join(h.dir, 'strict-out')}`],
      ['maxRetries: 2', 'maxRetries: 0'],
    ]);
    const [failed] = await h.modelport().apply(strict);
    // The image's exit code fails the job; its log lines say why.
    expect(failed?.result.failed[0]?.error.message).toMatch(/exited with status code 1/);
    const lenient = await h.manifest('iris-batch.yaml', 'lenient.yaml', [
      [/name: iris-batch$/m, 'name: iris-lenient'],
      [/input: .*batch-input/, `input: ${input}`],
      ['output: ./batch-output', `output: ${join(h.dir, 'lenient-out')}`],
      ['errorThreshold: 0', 'errorThreshold: -1'],
    ]);
    const [ok] = await h.modelport().apply(lenient);
    expect(ok?.result.failed).toEqual([]);
    expect(rows(await readFile(join(h.dir, 'lenient-out', 'rows.jsonl.out'), 'utf8'))).toHaveLength(2);
    expect(rows(await readFile(join(h.dir, 'lenient-out', 'rows.jsonl.errors.jsonl'), 'utf8'))).toHaveLength(
      1,
    );
    await h.modelport().destroy(strict);
    await h.modelport().destroy(lenient);
  });

  it('destroy removes the jobs and the data', async () => {
    await h.modelport().destroy(file);
    expect(commandJobs('iris-batch-')).toHaveLength(0);
    expect(h.emulator.list('models/versions').filter((m) => m.id.includes('/models/iris-batch/'))).toEqual(
      [],
    );
  });
});

describe('async endpoint emulated by command jobs', { sequential: true }, () => {
  it('plan refuses async without allowEmulation, with a clear message', async () => {
    const file = await h.manifest('iris-async.yaml', 'async-refused.yaml', [
      ['allowEmulation: true', 'allowEmulation: false'],
    ]);
    const error = await h
      .modelport()
      .plan(file)
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.message).toMatch(/no native async endpoint.*allowEmulation|allowEmulation/s);
  });

  it('says in the plan that async runs as batch jobs, and invoke --async / result give the predictions', async () => {
    const file = await h.manifest('iris-async.yaml', 'async.yaml');
    const plans = await h.modelport().plan(file);
    expect(plans[0]?.diagnostics.map((d) => d.message).join('\n')).toMatch(/command job per request/);
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.failed).toEqual([]);
    const payload = await readFile(join(ROOT, 'examples/iris/payload.json'));
    const handle = await h.modelport().invokeAsync(file, { body: payload, contentType: 'application/json' });
    expect(handle.id).toMatch(/^azure\/iris-async\//);
    let result = await h.modelport().asyncResult(handle.id);
    for (let i = 0; i < 100 && result.state !== 'succeeded' && result.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      result = await h.modelport().asyncResult(handle.id);
    }
    const reference = await referencePredictions(
      IRIS_MODEL,
      (JSON.parse(payload.toString('utf8')) as { instances: number[][] }).instances,
    );
    expect(JSON.parse(new TextDecoder().decode(result.body))).toEqual(reference);
    expect(commandJobs('iris-async-async-')).toHaveLength(1);
    await h.modelport().destroy(file);
    expect(
      h.emulator.list('environments/versions').filter((e) => e.id.includes('/iris-async-serving/')),
    ).toEqual([]);
  });
});
