// BatchJob with engine aws-batch against the emulator: a job definition of the model's container, run at
// once, on a schedule (EventBridge Scheduler → SubmitJob), or when a file lands under the input prefix
// (EventBridge rule on S3 "Object Created" → the job queue). The emulator's Batch really scores the files.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { referencePredictions } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './testing/harness.js';
import { BUCKET, IRIS_MODEL, ROOT, startHarness } from './testing/harness.js';

let h: Harness;
let lines: unknown[];

beforeAll(async () => {
  h = await startHarness();
  h.emulator.batch.createQueue('modelport-jobs');
  const text = await readFile(join(ROOT, 'examples/iris/batch-input/flowers.jsonl'), 'utf8');
  lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
  await h.emulator.s3.putFile(
    BUCKET,
    'incoming/iris/flowers.jsonl',
    join(ROOT, 'examples/iris/batch-input/flowers.jsonl'),
  );
});

afterAll(async () => {
  await h?.stop();
});

async function scored(key: string): Promise<unknown[]> {
  const object = h.emulator.s3.get(BUCKET, key);
  if (object === undefined) throw new Error(`no ${key}`);
  return (await readFile(object.path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
}

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !probe(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!probe()) throw new Error(`never happened: ${what}`);
}

describe('AWS Batch', { sequential: true }, () => {
  it('runs once on apply: job definition, submitted job, results downloaded into a local folder', async () => {
    const output = join(h.dir, 'batch-output');
    const manifest = await h.manifest('iris-aws-batch.yaml', 'run-now.yaml', [
      [/name: iris-nightly/, 'name: iris-once'],
      [/input: s3:\/\/\S+/, `input: ${join(ROOT, 'examples/iris/batch-input')}`],
      [/output: s3:\/\/\S+/, `output: ${output}`],
      [/ {4}schedule: .*\n/, ''],
    ]);
    const [plan] = await h.modelport().plan(manifest);
    expect(plan?.actions.map((a) => `${a.kind} ${a.type}`)).toEqual([
      'create s3:Object',
      'create s3:InputFolder',
      'create batch:JobDefinition',
      'create batch:Job',
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.failed).toEqual([]);
    const [definition] = h.emulator.batch.definitions;
    expect(definition?.request).toMatchObject({
      jobDefinitionName: 'iris-once',
      type: 'container',
      containerProperties: {
        resourceRequirements: [
          { type: 'VCPU', value: '2' },
          { type: 'MEMORY', value: '4096' },
        ],
      },
      retryStrategy: { attempts: 3 },
    });
    const [job] = h.emulator.batch.jobs.values();
    expect(job?.status).toBe('SUCCEEDED');
    const expected = await referencePredictions(IRIS_MODEL, lines);
    const written = (await readFile(join(output, 'flowers.jsonl.out'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(written).toEqual(expected.predictions);
    const [again] = await h.modelport().plan(manifest);
    expect(new Set(again?.actions.map((a) => a.kind))).toEqual(new Set(['noop']));
    expect((await h.modelport().destroy(manifest))[0]?.result.ok).toBe(true);
    expect(h.emulator.batch.definitions.every((d) => d.status === 'INACTIVE')).toBe(true);
    h.emulator.assertNoViolations();
  });

  it('runs on a schedule: an EventBridge Scheduler schedule that submits the job', async () => {
    const manifest = await h.manifest('iris-aws-batch.yaml', 'nightly.yaml');
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(true);
    const schedule = h.emulator.scheduler.schedules.get('default/iris-nightly');
    expect(schedule?.request).toMatchObject({
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      Target: {
        Arn: 'arn:aws:scheduler:::aws-sdk:batch:submitJob',
        RoleArn: 'arn:aws:iam::123456789012:role/modelport-batch',
      },
    });
    expect(new Set((await h.modelport().plan(manifest))[0]?.actions.map((a) => a.kind))).toEqual(
      new Set(['noop']),
    );
    const [status] = await h.modelport().status(manifest);
    expect(status).toMatchObject({ state: 'ready', message: 'waiting for its schedule' });
    h.emulator.scheduler.fire('iris-nightly');
    await until(
      'the scheduled job to finish',
      () => h.emulator.s3.get(BUCKET, 'scored/iris/flowers.jsonl.out') !== undefined,
    );
    expect(await scored('scored/iris/flowers.jsonl.out')).toEqual(
      (await referencePredictions(IRIS_MODEL, lines)).predictions,
    );
    // A new time is an update of the schedule in place.
    const moved = await h.manifest('iris-aws-batch.yaml', 'nightly-moved.yaml', [
      ["schedule: '0 3 * * *'", "schedule: '30 4 * * 1-5'"],
    ]);
    const [plan] = await h.modelport().plan(moved);
    expect(plan?.actions.filter((a) => a.kind !== 'noop').map((a) => `${a.kind} ${a.type}`)).toEqual([
      'update scheduler:Schedule',
    ]);
    expect((await h.modelport().apply(moved))[0]?.result.ok).toBe(true);
    expect(h.emulator.scheduler.schedules.get('default/iris-nightly')?.request['ScheduleExpression']).toBe(
      'cron(30 4 ? * 2-6 *)',
    );
    expect((await h.modelport().destroy(moved))[0]?.result.ok).toBe(true);
    expect(h.emulator.scheduler.schedules.size).toBe(0);
    h.emulator.assertNoViolations();
  });

  it('runs on new input: an EventBridge rule on S3 Object Created sends the job to the queue', async () => {
    h.emulator.s3.enableEventBridge(BUCKET);
    const manifest = await h.manifest('iris-aws-batch.yaml', 'on-upload.yaml', [
      [/name: iris-nightly/, 'name: iris-on-upload'],
      [/ {4}schedule: .*\n/, '    trigger: { onNewInput: true }\n'],
      ['scored/iris/', 'scored/uploads/'],
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(true);
    const rule = h.emulator.events.rules.get('iris-on-upload-on-input');
    expect(JSON.parse(String(rule?.request['EventPattern']))).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [BUCKET] }, object: { key: [{ prefix: 'incoming/iris/' }] } },
    });
    expect([...(rule?.targets.values() ?? [])][0]).toMatchObject({
      Arn: 'arn:aws:batch:us-east-1:123456789012:job-queue/modelport-jobs',
      BatchParameters: { JobDefinition: 'iris-on-upload', JobName: 'iris-on-upload' },
    });
    expect(new Set((await h.modelport().plan(manifest))[0]?.actions.map((a) => a.kind))).toEqual(
      new Set(['noop']),
    );
    await h.emulator.s3.putFile(
      BUCKET,
      'incoming/iris/more.jsonl',
      join(ROOT, 'examples/iris/batch-input/flowers.jsonl'),
    );
    await until(
      'the triggered job to finish',
      () => h.emulator.s3.get(BUCKET, 'scored/uploads/more.jsonl.out') !== undefined,
    );
    expect(await scored('scored/uploads/more.jsonl.out')).toEqual(
      (await referencePredictions(IRIS_MODEL, lines)).predictions,
    );
    expect((await h.modelport().destroy(manifest))[0]?.result.ok).toBe(true);
    expect(h.emulator.events.rules.size).toBe(0);
    h.emulator.assertNoViolations();
  });
});
