// Serverless and async endpoints against the emulator: ServerlessConfig from compute and scaling, the 4 MB
// limit; AsyncInferenceConfig with S3 output and failure paths, backlog autoscaling down to zero, invokeAsync
// streaming a large payload to S3 in parts, and results read back from the output location.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AsyncResult, Modelport } from '@modelport/core';
import { TAGS } from '@modelport/core';
import { referencePredictions } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsyncId } from './invoke.js';
import type { Harness } from './testing/harness.js';
import { IRIS_MODEL, ROOT, startHarness } from './testing/harness.js';

let h: Harness;
let payload: Buffer;

beforeAll(async () => {
  h = await startHarness({ asyncRunLimitBytes: 8 * 1024 * 1024 });
  payload = await readFile(join(ROOT, 'examples/iris/payload.json'));
});

afterAll(async () => {
  await h?.stop();
});

async function expected(): Promise<unknown> {
  return referencePredictions(
    IRIS_MODEL,
    (JSON.parse(payload.toString()) as { instances: unknown[] }).instances,
  );
}

async function waitResult(mp: Modelport, id: string): Promise<AsyncResult> {
  for (;;) {
    const result = await mp.asyncResult(id);
    if (result.state === 'succeeded' || result.state === 'failed') return result;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('serverless endpoint', { sequential: true }, () => {
  let manifest: string;

  it('deploys with ServerlessConfig from compute.memoryGiB and scaling.maxReplicas, and no autoscaling', async () => {
    manifest = await h.manifest('iris-serverless.yaml', 'serverless.yaml');
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(true);
    const config = [...h.emulator.sagemaker.endpointConfigs.values()][0];
    expect(config?.request['ProductionVariants']).toEqual([
      {
        VariantName: 'AllTraffic',
        ModelName: expect.stringMatching(/^iris-serverless-[0-9a-f]{8}$/),
        ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 10 },
      },
    ]);
    expect(h.emulator.autoscaling.targets.size).toBe(0);
    expect(h.emulator.cloudwatch.alarms.size).toBe(0);
    h.emulator.assertNoViolations();
  });

  it('invokes, and refuses more than 4 MB before sending', async () => {
    const mp = h.modelport();
    const response = await mp.invoke(manifest, { body: payload, contentType: 'application/json' });
    expect(JSON.parse(Buffer.from(response.body).toString())).toEqual(await expected());
    const big = await mp
      .invoke(manifest, { body: Buffer.alloc(4 * 1024 * 1024 + 1, 0x20), contentType: 'application/json' })
      .catch((e: unknown) => e);
    expect(big).toMatchObject({ kind: 'invalidInput', message: expect.stringMatching(/4 MB/) });
  });

  it('refuses a memory SageMaker serverless cannot give, before any write', async () => {
    const bad = await h.manifest('iris-serverless.yaml', 'serverless-bad.yaml', [
      ['memoryGiB: 2', 'memoryGiB: 8'],
    ]);
    const writes = h.emulator.writeCalls();
    const error = await h
      .modelport()
      .apply(bad)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'invalidInput', message: expect.stringMatching(/1–6 GiB/) });
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('destroys', async () => {
    expect((await h.modelport().destroy(manifest))[0]?.result.ok).toBe(true);
    expect(h.emulator.sagemaker.endpoints.size).toBe(0);
  });
});

describe('async endpoint', { sequential: true }, () => {
  let manifest: string;

  it('deploys with S3 output and failure paths and backlog scaling down to zero', async () => {
    manifest = await h.manifest('iris-async.yaml', 'async.yaml', [
      ['timeoutSeconds: 900', 'timeoutSeconds: 600'],
    ]);
    const [outcome] = await h.modelport().apply(manifest);
    expect(outcome?.result.ok).toBe(true);
    const config = [...h.emulator.sagemaker.endpointConfigs.values()][0];
    expect(config?.request['AsyncInferenceConfig']).toEqual({
      OutputConfig: {
        S3OutputPath: 's3://modelport-artifacts-123456789012/modelport/iris-async/async-output',
        S3FailurePath: 's3://modelport-artifacts-123456789012/modelport/iris-async/async-failures',
      },
    });
    const [target] = h.emulator.autoscaling.targets.values();
    expect(target).toMatchObject({ resourceId: 'endpoint/iris-async/variant/AllTraffic', min: 0, max: 2 });
    const policies = [...h.emulator.autoscaling.policies.values()].map((p) => p.request);
    expect(policies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          PolicyName: 'iris-async-target-tracking',
          TargetTrackingScalingPolicyConfiguration: expect.objectContaining({
            TargetValue: 5,
            CustomizedMetricSpecification: expect.objectContaining({
              MetricName: 'ApproximateBacklogSizePerInstance',
            }),
          }),
        }),
        expect.objectContaining({ PolicyName: 'iris-async-scale-out-from-zero', PolicyType: 'StepScaling' }),
      ]),
    );
    const replan = await h.modelport().plan(manifest);
    expect(new Set(replan[0]?.actions.map((a) => a.kind))).toEqual(new Set(['noop']));
    h.emulator.assertNoViolations();
  });

  it('creates the HasBacklogWithoutCapacity alarm that triggers the scale-out-from-zero policy', async () => {
    const policy = [...h.emulator.autoscaling.policies.values()].find(
      (p) => p.name === 'iris-async-scale-out-from-zero',
    );
    expect(policy?.arn).toMatch(/:policyName\/iris-async-scale-out-from-zero$/);
    const alarm = h.emulator.cloudwatch.alarms.get('iris-async-backlog-without-capacity');
    expect(alarm?.request).toMatchObject({
      AlarmActions: [policy?.arn],
      MetricName: 'HasBacklogWithoutCapacity',
      Namespace: 'AWS/SageMaker',
      Dimensions: [{ Name: 'EndpointName', Value: 'iris-async' }],
      Statistic: 'Average',
      Period: 60,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'missing',
    });
    expect(h.emulator.cloudwatch.tags.get(alarm?.arn ?? '')).toMatchObject({
      [TAGS.managedBy]: 'modelport',
      [TAGS.name]: 'iris-async',
      [TAGS.specHash]: expect.any(String),
    });
    // A re-apply reads the alarm back as it was declared: nothing to write.
    const writes = h.emulator.writeCalls();
    const [again] = await h.modelport().apply(manifest);
    expect(again?.result.ok).toBe(true);
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('invokeAsync returns a self-describing id; the result holds the runtime predictions', async () => {
    const mp = h.modelport();
    const handle = await mp.invokeAsync(manifest, { body: payload, contentType: 'application/json' });
    expect(handle.id).toMatch(/^aws\/iris-async\/us-east-1~[A-Za-z0-9_-]+$/);
    expect(parseAsyncId(handle.id).output).toMatch(
      /^s3:\/\/modelport-artifacts-123456789012\/modelport\/iris-async\/async-output\/.+\.out$/,
    );
    expect(h.emulator.runtime.asyncInvocations.at(-1)?.inputLocation).toMatch(/\/async-input\//);
    // A fresh Modelport (as `modelport result <id>` in another process): the id is all it needs.
    const result = await waitResult(h.modelport(), handle.id);
    expect(result.state).toBe('succeeded');
    expect(JSON.parse(Buffer.from(result.body ?? []).toString())).toEqual(await expected());
  });

  it('streams a large payload to S3 in parts without holding it in memory, and reports the failure', async () => {
    const size = 160 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
    }
    const parts = h.emulator.calls('UploadPart');
    // Live memory, not garbage: a full collection before each sample (gc exposed at run time).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const live = (): number => {
      gc();
      const now = process.memoryUsage();
      return now.heapUsed + now.arrayBuffers;
    };
    const base = live();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, live() - base);
    }, 250);
    const handle = await h
      .modelport()
      .invokeAsync(manifest, { body: body(), contentType: 'application/json' });
    clearInterval(sampler);
    expect(h.emulator.calls('UploadPart') - parts).toBeGreaterThanOrEqual(12);
    const input = h.emulator.runtime.asyncInvocations.at(-1)?.inputLocation ?? '';
    expect(
      h.emulator.s3.get('modelport-artifacts-123456789012', input.replace(/^s3:\/\/[^/]+\//, ''))?.size,
    ).toBe(size);
    // Bounded by the parts in flight (part size × queue size, plus copies), not by the payload: measured
    // 13–45 MB on a busy machine for 64 and 160 MB payloads alike.
    expect(peak, `live memory peak ${peak} bytes`).toBeLessThan(64 * 1024 * 1024);
    const result = await waitResult(h.modelport(), handle.id);
    expect(result).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/does not run async inputs over/),
    });
  });

  it('refuses a payload over the async limit before uploading anything', async () => {
    const writes = h.emulator.writeCalls();
    const error = await h
      .modelport()
      .invokeAsync(manifest, {
        body: Buffer.alloc(8),
        contentType: 'application/json',
        sizeBytes: 2 * 1024 ** 3,
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'invalidInput' });
    expect(h.emulator.writeCalls()).toBe(writes);
  });

  it('updates autoscaling in place, shows drift made outside modelport, then destroys', async () => {
    const changed = await h.manifest('iris-async.yaml', 'async-changed.yaml', [
      ['timeoutSeconds: 900', 'timeoutSeconds: 600'],
      ['maxReplicas: 2', 'maxReplicas: 3'],
      ['target: 5', 'target: 8'],
    ]);
    const [plan] = await h.modelport().plan(changed);
    expect(plan?.actions.filter((a) => a.kind !== 'noop').map((a) => `${a.kind} ${a.name}`)).toEqual([
      'update endpoint/iris-async/variant/AllTraffic',
      'update iris-async-target-tracking',
    ]);
    expect((await h.modelport().apply(changed))[0]?.result.ok).toBe(true);
    expect([...h.emulator.autoscaling.targets.values()][0]?.max).toBe(3);
    // Someone edits the target outside modelport: the plan shows it.
    [...h.emulator.autoscaling.targets.values()][0]!.max = 7;
    const [drift] = await h.modelport().plan(changed);
    const action = drift?.actions.find((a) => a.type === 'autoscaling:ScalableTarget');
    expect(action).toMatchObject({
      kind: 'update',
      reason: 'drift: changed outside modelport',
      changes: [{ path: 'max', before: 7, after: 3 }],
    });
    expect((await h.modelport().destroy(changed))[0]?.result.ok).toBe(true);
    expect(
      h.emulator.autoscaling.targets.size +
        h.emulator.autoscaling.policies.size +
        h.emulator.cloudwatch.alarms.size +
        h.emulator.sagemaker.endpoints.size,
    ).toBe(0);
    h.emulator.assertNoViolations();
  });
});
