// The done-when of the Azure provider, through the built CLI: the iris example deploys to the emulated Azure
// ML as an online endpoint (then a blue-green update) and as a batch job, both through the real serving
// image (its user container, its batch mode in a command job), and `modelport invoke` and the
// job's output give the same predictions as the local provider.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureCloud } from './azure-helpers.js';
import { AZURE_EXAMPLES, azureEnv, startAzureCloud } from './azure-helpers.js';
import type { Workspace } from './helpers.js';
import {
  cliEnv,
  createWorkspace,
  exampleManifest,
  invokeWithEnv,
  IRIS_DIR,
  joinManifests,
  localIris,
  localReference,
  readJsonLines,
  runCliWithEnv,
} from './helpers.js';

const PAYLOAD = join(IRIS_DIR, 'payload.json');

let cloud: AzureCloud;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let azureFile: string;
let localEndpoint: string;
let localBatch: string;

beforeAll(async () => {
  cloud = await startAzureCloud();
  ws = await createWorkspace('azure-iris');
  env = azureEnv(cloud, ws.stateDir);
  const docs = [
    await exampleManifest(AZURE_EXAMPLES, 'iris-online.yaml', join(ws.dir, 'online.yaml')),
    await exampleManifest(AZURE_EXAMPLES, 'iris-batch.yaml', join(ws.dir, 'batch.yaml'), [
      ['output: ./batch-output', `output: ${join(ws.dir, 'azure-output')}`],
    ]),
  ];
  azureFile = await joinManifests(join(ws.dir, 'iris-azure.yaml'), docs);
  ({ endpoint: localEndpoint, batch: localBatch } = await localIris(ws, `iris-local-${process.pid}`));
});

afterAll(async () => {
  await ws?.cleanup();
  await cloud?.stop();
});

describe('the iris example on emulated Azure ML, against the local provider', () => {
  let local: unknown;

  it('the local provider answers the payload (the reference)', async () => {
    local = await localReference(localEndpoint, ws.stateDir, PAYLOAD);
  });

  it('applies the online endpoint and the batch job from one file', async () => {
    const applied = await runCliWithEnv(['apply', azureFile, '--yes'], env);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect(cloud.emulator.list('onlineEndpoints').map((e) => e.name)).toEqual(['iris']);
    expect(
      cloud.emulator.list('jobs').map((j) => (j.body['properties'] as { status: string }).status),
    ).toEqual(['Completed']);
    cloud.emulator.assertNoViolations();
  });

  it('invoke answers what the local provider answers', async () => {
    expect(await invokeWithEnv(env, azureFile, PAYLOAD, 'iris')).toEqual(local);
  });

  it('the batch job wrote the rows the local batch runner writes', async () => {
    const ran = await runCliWithEnv(['apply', localBatch, '--yes'], cliEnv(ws.stateDir));
    expect(ran.code, ran.stderr).toBe(0);
    // The serving image's batch mode writes <file>.out, as the local batch runner does.
    const azure = await readJsonLines(join(ws.dir, 'azure-output', 'flowers.jsonl.out'));
    const mine = await readJsonLines(join(ws.dir, 'local-output', 'flowers.jsonl.out'));
    expect(azure).toEqual(mine);
  });

  it('blue-green update: a new deployment takes the traffic, the old one is removed, invoke still agrees', async () => {
    const before = cloud.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    const v2 = await exampleManifest(AZURE_EXAMPLES, 'iris-online.yaml', join(ws.dir, 'online-v2.yaml'), [
      ['timeoutSeconds: 30', 'timeoutSeconds: 20'],
    ]);
    const applied = await runCliWithEnv(['apply', v2, '--yes'], env);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    const after = cloud.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    const traffic = (
      cloud.emulator.find('onlineEndpoints', 'iris')?.body['properties'] as {
        traffic: Record<string, number>;
      }
    ).traffic;
    expect(traffic).toEqual({ [after[0] as string]: 100 });
    expect(await invokeWithEnv(env, v2, PAYLOAD)).toEqual(local);
  });

  it('re-applying makes no write call; destroy removes every deployment', async () => {
    const writes = cloud.emulator.writeCalls();
    const again = await runCliWithEnv(
      ['apply', azureFile.replace('iris-azure.yaml', 'batch.yaml'), '--yes'],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    const v2 = join(ws.dir, 'online-v2.yaml');
    const again2 = await runCliWithEnv(['apply', v2, '--yes'], env);
    expect(again2.code, again2.stderr).toBe(0);
    expect(cloud.emulator.writeCalls()).toBe(writes);
    for (const file of [v2, join(ws.dir, 'batch.yaml')]) {
      const destroyed = await runCliWithEnv(['destroy', file, '--yes'], env);
      expect(destroyed.code, destroyed.stderr).toBe(0);
    }
    for (const kind of ['onlineEndpoints', 'batchEndpoints', 'models/versions', 'autoscalesettings']) {
      expect(cloud.emulator.list(kind), kind).toEqual([]);
    }
    cloud.emulator.assertNoViolations();
  });
});
