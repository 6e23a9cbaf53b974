// BatchJob with engine sagemaker-transform against the emulator: the local input folder is uploaded, the
// transform job runs the model over every line (SplitType Line), the `.out` files come back into the local
// output folder with the predictions the modelport runtime gives; limits are checked before any call.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TAGS } from '@modelport/core';
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

const jobs = () => [...h.emulator.sagemaker.transformJobs.values()];

describe('SageMaker Batch Transform', { sequential: true }, () => {
  let manifest: string;
  let output: string;

  it('runs the iris batch example: uploads the input, runs the job, downloads the .out files', async () => {
    output = join(h.dir, 'transform-output');
    manifest = await h.manifest('iris-transform.yaml', 'transform.yaml', [
      ['output: ./transform-output', `output: ${output}`],
    ]);
    const [plan] = await h.modelport().plan(manifest);
    expect(plan?.actions.map((a) => `${a.kind} ${a.type}`)).toEqual([
      'create s3:Object',
      'create sagemaker:Model',
      'create s3:InputFolder',
      'create sagemaker:TransformJob',
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.failed).toEqual([]);
    const [job] = jobs();
    expect(job?.status).toBe('Completed');
    expect(job?.name).toMatch(/^iris-transform-[0-9a-f]{8}-[0-9a-z]+$/);
    expect(job?.request).toMatchObject({
      MaxPayloadInMB: 6,
      MaxConcurrentTransforms: 4,
      BatchStrategy: 'MultiRecord',
      TransformInput: { ContentType: 'application/jsonlines', SplitType: 'Line' },
    });
    const lines = (await readFile(join(ROOT, 'examples/iris/batch-input/flowers.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    const expected = await referencePredictions(
      IRIS_MODEL,
      lines.map((l) => JSON.parse(l) as unknown),
    );
    const written = (await readFile(join(output, 'flowers.jsonl.out'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(written).toEqual(expected.predictions);
    h.emulator.assertNoViolations();
  });

  it('plans no-op once the job ran, and re-applying makes no write call', async () => {
    const [plan] = await h.modelport().plan(manifest);
    expect(new Set(plan?.actions.map((a) => a.kind))).toEqual(new Set(['noop']));
    const writes = h.emulator.writeCalls();
    expect((await h.modelport().apply(manifest))[0]?.result.executions).toBe(0);
    expect(h.emulator.writeCalls()).toBe(writes);
    const [status] = await h.modelport().status(manifest);
    expect(status?.state).toBe('succeeded');
  });

  it('checks MaxConcurrentTransforms × MaxPayloadInMB ≤ 100 before any call, and refuses a schedule', async () => {
    const tooMuch = await h.manifest('iris-transform.yaml', 'too-much.yaml', [
      ['miniBatchMB: 6', 'miniBatchMB: 30'],
      [/output: \.\/transform-output/, `output: ${join(h.dir, 'x')}`],
    ]);
    const writes = h.emulator.writeCalls();
    const error = await h
      .modelport()
      .plan(tooMuch)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'invalidInput',
      message: expect.stringMatching(/4 × miniBatchMB 30 = 120 MB/),
    });
    expect(h.emulator.calls('CreateTransformJob')).toBe(1);
    const scheduled = await h.manifest('iris-transform.yaml', 'scheduled.yaml', [
      ['format: jsonl', "format: jsonl\n    schedule: '0 3 * * *'"],
    ]);
    const refused = await h
      .modelport()
      .apply(scheduled)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: 'capability', hint: expect.stringMatching(/aws-batch/) });
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('a failed job fails the apply with its reason; the next apply starts a new job', async () => {
    const changed = await h.manifest('iris-transform.yaml', 'changed.yaml', [
      ['concurrency: 4', 'concurrency: 2'],
      [/output: \.\/transform-output/, `output: ${output}`],
    ]);
    h.emulator.faults.failJob('iris-transform', 'ClientError: the container crashed');
    const [failed] = await h.modelport().apply(changed);
    expect(failed?.result.ok).toBe(false);
    expect(failed?.result.failed[0]?.error.message).toMatch(/failed: ClientError: the container crashed/);
    const [plan] = await h.modelport().plan(changed);
    expect(plan?.actions.find((a) => a.type === 'sagemaker:TransformJob')).toMatchObject({
      kind: 'replace',
      reason: 'is failed',
    });
    const [again] = await h.modelport().apply(changed);
    expect(again?.result.ok).toBe(true);
    expect(jobs().filter((j) => j.status === 'Completed')).toHaveLength(2);
    manifest = changed;
  });

  it('destroys: jobs are untagged (SageMaker keeps them), model, input and artifact are deleted', async () => {
    expect((await h.modelport().destroy(manifest))[0]?.result.ok).toBe(true);
    const tagged = jobs().filter((j) => h.emulator.sagemaker.tags.get(j.arn)?.[TAGS.managedBy] !== undefined);
    expect(tagged).toEqual([]);
    expect(h.emulator.sagemaker.models.size).toBe(0);
    expect(h.emulator.s3.objects().filter((o) => !o.key.includes('/batch-output/'))).toEqual([]);
    expect((await h.modelport().destroy(manifest))[0]?.result.executions).toBe(0);
    h.emulator.assertNoViolations();
  });
});
