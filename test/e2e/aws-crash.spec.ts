// The CLI killed (SIGKILL) between CreateModel and CreateEndpoint: nothing is rolled back (the process is
// gone), and re-applying converges from what the cloud holds — found by its tags — with no duplicates.
import { join } from 'node:path';
import type { AwsEmulator } from '@modelport/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AWS_EXAMPLES, awsEnv, startEmulator } from './aws-helpers.js';
import type { Workspace } from './helpers.js';
import { crashCli, createWorkspace, exampleManifest, firstPlanActions, runCliWithEnv } from './helpers.js';

let emulator: AwsEmulator;
let ws: Workspace;

beforeAll(async () => {
  emulator = await startEmulator();
  ws = await createWorkspace('aws-crash');
});

afterAll(async () => {
  await emulator?.stop();
  await ws?.cleanup();
});

it('re-apply after a crash between CreateModel and CreateEndpoint converges with no duplicates', async () => {
  const manifest = await exampleManifest(AWS_EXAMPLES, 'iris-realtime.yaml', join(ws.dir, 'iris.yaml'), [
    [/ {2}scaling:\n(?: {4}.*\n)+/, ''],
  ]);
  const env = awsEnv(emulator.url, ws.stateDir);
  const signal = await crashCli(ws, ['apply', manifest, '--yes'], env, (kill) =>
    emulator.faults.onCall((call, phase) => {
      if (call.operation === 'CreateModel' && phase === 'after') kill();
    }),
  );
  expect(signal).toBe('SIGKILL');
  emulator.faults.reset();
  expect(emulator.sagemaker.models.size).toBe(1);
  expect(emulator.sagemaker.endpointConfigs.size).toBe(0);
  expect(emulator.sagemaker.endpoints.size).toBe(0);

  const plan = await runCliWithEnv(['--output', 'json', 'plan', manifest], env);
  const actions = firstPlanActions(plan.stdout);
  expect(actions?.map((a) => `${a.kind} ${a.type}`)).toEqual([
    'noop s3:Object',
    'noop sagemaker:Model',
    'create sagemaker:EndpointConfig',
    'create sagemaker:Endpoint',
  ]);

  const again = await runCliWithEnv(['apply', manifest, '--yes'], env);
  expect(again.code, again.stderr).toBe(0);
  expect(emulator.calls('CreateModel')).toBe(1);
  expect(emulator.sagemaker.models.size).toBe(1);
  expect(emulator.sagemaker.endpointConfigs.size).toBe(1);
  expect(emulator.sagemaker.endpoints.get('iris')?.status).toBe('InService');
  expect(emulator.s3.objects().length).toBe(1);

  const destroyed = await runCliWithEnv(['destroy', manifest, '--yes'], env);
  expect(destroyed.code, destroyed.stderr).toBe(0);
  expect(
    emulator.sagemaker.models.size + emulator.sagemaker.endpoints.size + emulator.s3.objects().length,
  ).toBe(0);
  emulator.assertNoViolations();
});
