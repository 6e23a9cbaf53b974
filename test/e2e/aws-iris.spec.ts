// The done-when of the AWS provider, through the built CLI: the iris example deploys to the emulated
// SageMaker as real-time, serverless and async endpoints and as a transform job (one multi-document file),
// and `modelport invoke` / `result` / the transform's output give the same predictions as the local provider.
import { join } from 'node:path';
import type { AwsEmulator } from '@modelport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_EXAMPLES, awsEnv, startEmulator } from './aws-helpers.js';
import type { Workspace } from './helpers.js';
import {
  cliEnv,
  createWorkspace,
  exampleManifest,
  invokeAsyncWithEnv,
  invokeWithEnv,
  IRIS_DIR,
  joinManifests,
  localIris,
  localReference,
  readJsonLines,
  runCliWithEnv,
} from './helpers.js';

const PAYLOAD = join(IRIS_DIR, 'payload.json');

let emulator: AwsEmulator;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let awsFile: string;
let localEndpoint: string;
let localBatch: string;

beforeAll(async () => {
  emulator = await startEmulator();
  ws = await createWorkspace('aws-iris');
  env = awsEnv(emulator.url, ws.stateDir);
  const docs = [
    await exampleManifest(AWS_EXAMPLES, 'iris-realtime.yaml', join(ws.dir, 'realtime.yaml')),
    await exampleManifest(AWS_EXAMPLES, 'iris-serverless.yaml', join(ws.dir, 'serverless.yaml')),
    await exampleManifest(AWS_EXAMPLES, 'iris-async.yaml', join(ws.dir, 'async.yaml')),
    await exampleManifest(AWS_EXAMPLES, 'iris-transform.yaml', join(ws.dir, 'transform.yaml'), [
      ['output: ./transform-output', `output: ${join(ws.dir, 'aws-output')}`],
    ]),
  ];
  awsFile = await joinManifests(join(ws.dir, 'iris-aws.yaml'), docs);
  ({ endpoint: localEndpoint, batch: localBatch } = await localIris(ws, `iris-local-${process.pid}`));
});

afterAll(async () => {
  await ws?.cleanup();
  await emulator?.stop();
});

describe('the iris example on emulated SageMaker, against the local provider', () => {
  let local: unknown;

  it('the local provider answers the payload (the reference)', async () => {
    local = await localReference(localEndpoint, ws.stateDir, PAYLOAD);
  });

  it('applies all four AWS deployments from one file', async () => {
    const applied = await runCliWithEnv(['apply', awsFile, '--yes'], env);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect([...emulator.sagemaker.endpoints.values()].map((e) => `${e.name} ${e.status}`).sort()).toEqual([
      'iris InService',
      'iris-async InService',
      'iris-serverless InService',
    ]);
    expect([...emulator.sagemaker.transformJobs.values()].map((j) => j.status)).toEqual(['Completed']);
    // Each endpoint is served by a container of the real serving image (a host process), not in-process.
    for (const endpoint of emulator.sagemaker.endpoints.values()) {
      const serving = emulator.sagemaker.servingContainer(endpoint);
      expect(serving?.container.pid, endpoint.name).toBeGreaterThan(0);
      expect(serving?.container.exit(), endpoint.name).toBeUndefined();
    }
    emulator.assertNoViolations();
  });

  it('real-time and serverless invoke answer what the local provider answers', async () => {
    for (const name of ['iris', 'iris-serverless']) {
      expect(await invokeWithEnv(env, awsFile, PAYLOAD, name)).toEqual(local);
    }
  });

  it('async: invoke --async prints an id, and `result <id>` (with nothing else) gives the same predictions', async () => {
    const { id, body } = await invokeAsyncWithEnv(env, awsFile, 'iris-async', PAYLOAD);
    expect(id).toMatch(/^aws\/iris-async\/us-east-1~/);
    expect(body).toEqual(local);
  });

  it('the transform job wrote what the local batch runner writes', async () => {
    const ran = await runCliWithEnv(['apply', localBatch, '--yes'], cliEnv(ws.stateDir));
    expect(ran.code, ran.stderr).toBe(0);
    const aws = await readJsonLines(join(ws.dir, 'aws-output', 'flowers.jsonl.out'));
    const mine = await readJsonLines(join(ws.dir, 'local-output', 'flowers.jsonl.out'));
    expect(aws).toEqual(mine);
  });

  it('re-applying makes no write call; destroy removes every deployment', async () => {
    const writes = emulator.writeCalls();
    const again = await runCliWithEnv(['apply', awsFile, '--yes'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(emulator.writeCalls()).toBe(writes);
    const destroyed = await runCliWithEnv(['destroy', awsFile, '--yes'], env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(
      emulator.sagemaker.endpoints.size + emulator.sagemaker.models.size + emulator.autoscaling.targets.size,
    ).toBe(0);
    emulator.assertNoViolations();
  });
});
