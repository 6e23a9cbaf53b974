// BatchJob as an Azure ML batch endpoint job, and async endpoints emulated by batch jobs: the input folder
// goes to azurite, the emulated job scores it with the runtime, the output comes back to the output folder.
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
    .map((l) => JSON.parse(l) as unknown);

describe('Azure ML batch endpoint jobs (emulated)', { sequential: true }, () => {
  let file: string;
  let output: string;

  it('runs the iris batch example and writes what the runtime predicts, with the mapped settings', async () => {
    output = join(h.dir, 'out');
    file = await h.manifest('iris-batch.yaml', 'batch.yaml', [
      ['output: ./batch-output', `output: ${output}`],
    ]);
    const [outcome] = await h.modelport().apply(file);
    expect(outcome?.result.failed).toEqual([]);
    const deployment = h.emulator.list('batchEndpoints/deployments')[0];
    expect(deployment?.body['properties']).toMatchObject({
      miniBatchSize: 1024,
      errorThreshold: 0,
      retrySettings: { maxRetries: 2 },
      outputAction: 'AppendRow',
    });
    const input = (await readFile(join(ROOT, 'examples/iris/batch-input/flowers.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as number[]);
    const { predictions } = await referencePredictions(IRIS_MODEL, input);
    expect(rows(await readFile(join(output, 'predictions.jsonl'), 'utf8'))).toEqual(predictions);
    const [status] = await h.modelport().status(file);
    expect(status?.state).toBe('succeeded');
  });

  it('re-applying does not run the job again (zero writes)', async () => {
    const writes = h.emulator.writeCalls();
    const [again] = await h.modelport().apply(file);
    expect(again?.result.executions).toBe(0);
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('a failed job is reported, and the next apply runs it again', async () => {
    const changed = await h.manifest('iris-batch.yaml', 'batch-2.yaml', [
      ['output: ./batch-output', `output: ${join(h.dir, 'out-2')}`],
    ]);
    h.emulator.faults.failJob('*', 'UserError: mini-batch 0 failed 3 times');
    const [failed] = await h.modelport().apply(changed);
    expect(failed?.result.ok).toBe(false);
    expect(failed?.result.failed[0]?.error.message).toMatch(/mini-batch 0 failed/);
    const [status] = await h.modelport().status(changed);
    expect(status?.state).toBe('failed');
    const [rerun] = await h.modelport().apply(changed);
    expect(rerun?.result.failed).toEqual([]);
    expect(rerun?.result.done.some((id) => id.startsWith('azureml:BatchJob/'))).toBe(true);
  });

  it("the error threshold is the deployment's: a bad record fails a job with threshold 0, not one with -1", async () => {
    const input = join(h.dir, 'bad-input');
    await mkdir(input, { recursive: true });
    await writeFile(join(input, 'rows.jsonl'), '[5.1,3.5,1.4,0.2]\n"not a row"\n[6.7,3.0,5.2,2.3]\n');
    const strict = await h.manifest('iris-batch.yaml', 'strict.yaml', [
      [/name: iris-batch$/m, 'name: iris-strict'],
      [/input: .*batch-input/, `input: ${input}`],
      ['output: ./batch-output', `output: ${join(h.dir, 'strict-out')}`],
    ]);
    const [failed] = await h.modelport().apply(strict);
    expect(failed?.result.failed[0]?.error.message).toMatch(/above the error threshold of 0/);
    const lenient = await h.manifest('iris-batch.yaml', 'lenient.yaml', [
      [/name: iris-batch$/m, 'name: iris-lenient'],
      [/input: .*batch-input/, `input: ${input}`],
      ['output: ./batch-output', `output: ${join(h.dir, 'lenient-out')}`],
      ['errorThreshold: 0', 'errorThreshold: -1'],
    ]);
    const [ok] = await h.modelport().apply(lenient);
    expect(ok?.result.failed).toEqual([]);
    expect(rows(await readFile(join(h.dir, 'lenient-out', 'predictions.jsonl'), 'utf8'))).toHaveLength(2);
    await h.modelport().destroy(strict);
    await h.modelport().destroy(lenient);
  });

  it('destroy removes the jobs, the endpoint and the data', async () => {
    await h.modelport().destroy(file);
    expect(h.emulator.list('batchEndpoints')).toEqual([]);
    expect(h.emulator.list('jobs').filter((j) => j.name.startsWith('batchjob-'))).toHaveLength(0);
  });
});

describe('async endpoint emulated by batch jobs', { sequential: true }, () => {
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
    expect(plans[0]?.diagnostics.map((d) => d.message).join('\n')).toMatch(/batch endpoint job per request/);
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
    await h.modelport().destroy(file);
    expect(h.emulator.list('batchEndpoints')).toEqual([]);
  });
});
