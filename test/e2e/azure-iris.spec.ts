// The done-when of the Azure provider, through the built CLI: the iris example deploys to the emulated Azure
// ML as an online endpoint (then a blue-green update) and as a batch job, and `modelport invoke` and the
// job's output give the same predictions as the local provider.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureCloud } from './azure-helpers.js';
import { azureEnv, azureManifest, runAzureCli, startAzureCloud } from './azure-helpers.js';
import type { Workspace } from './helpers.js';
import { cliEnv, createWorkspace, IRIS_DIR, writeManifest } from './helpers.js';

const PAYLOAD = join(IRIS_DIR, 'payload.json');

let cloud: AzureCloud;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let azureFile: string;
let localEndpoint: string;
let localBatch: string;

function body(stdout: string): unknown {
  return (JSON.parse(stdout) as { body: unknown }).body;
}

beforeAll(async () => {
  cloud = await startAzureCloud();
  ws = await createWorkspace('azure-iris');
  env = azureEnv(cloud, ws.stateDir);
  const docs = [
    await azureManifest('iris-online.yaml', join(ws.dir, 'online.yaml')),
    await azureManifest('iris-batch.yaml', join(ws.dir, 'batch.yaml'), [
      ['output: ./batch-output', `output: ${join(ws.dir, 'azure-output')}`],
    ]),
  ];
  azureFile = join(ws.dir, 'iris-azure.yaml');
  await writeFile(azureFile, (await Promise.all(docs.map((d) => readFile(d, 'utf8')))).join('\n---\n'));
  localEndpoint = await writeManifest(join(ws.dir, 'local-endpoint.yaml'), 'endpoint', [
    [/name: iris$/m, `name: iris-local-${process.pid}`],
  ]);
  localBatch = await writeManifest(join(ws.dir, 'local-batch.yaml'), 'batch', [
    ['input: ./batch-input', `input: ${join(IRIS_DIR, 'batch-input')}`],
    ['output: ./batch-output', `output: ${join(ws.dir, 'local-output')}`],
  ]);
  ws.track(localEndpoint);
});

afterAll(async () => {
  await ws?.cleanup();
  await cloud?.stop();
});

describe('the iris example on emulated Azure ML, against the local provider', () => {
  let local: unknown;

  it('the local provider answers the payload (the reference)', async () => {
    const applied = await runAzureCli(['apply', localEndpoint, '--yes'], cliEnv(ws.stateDir));
    expect(applied.code, applied.stderr).toBe(0);
    const invoked = await runAzureCli(
      ['--output', 'json', 'invoke', localEndpoint, '-f', PAYLOAD],
      cliEnv(ws.stateDir),
    );
    expect(invoked.code, invoked.stderr).toBe(0);
    local = body(invoked.stdout);
    expect(local).toMatchObject({ predictions: expect.any(Array) });
  });

  it('applies the online endpoint and the batch job from one file', async () => {
    const applied = await runAzureCli(['apply', azureFile, '--yes'], env);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect(cloud.emulator.list('onlineEndpoints').map((e) => e.name)).toEqual(['iris']);
    expect(
      cloud.emulator.list('jobs').map((j) => (j.body['properties'] as { status: string }).status),
    ).toEqual(['Completed']);
    cloud.emulator.assertNoViolations();
  });

  it('invoke answers what the local provider answers', async () => {
    const invoked = await runAzureCli(
      ['--output', 'json', 'invoke', azureFile, '--name', 'iris', '-f', PAYLOAD],
      env,
    );
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(body(invoked.stdout)).toEqual(local);
  });

  it('the batch job wrote the rows the local batch runner writes', async () => {
    const ran = await runAzureCli(['apply', localBatch, '--yes'], cliEnv(ws.stateDir));
    expect(ran.code, ran.stderr).toBe(0);
    const parse = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
    const azure = await readFile(join(ws.dir, 'azure-output', 'predictions.jsonl'), 'utf8');
    const mine = await readFile(join(ws.dir, 'local-output', 'flowers.jsonl.out'), 'utf8');
    expect(parse(azure)).toEqual(parse(mine));
  });

  it('blue-green update: a new deployment takes the traffic, the old one is removed, invoke still agrees', async () => {
    const before = cloud.emulator.list('onlineEndpoints/deployments').map((d) => d.name);
    const v2 = await azureManifest('iris-online.yaml', join(ws.dir, 'online-v2.yaml'), [
      ['timeoutSeconds: 30', 'timeoutSeconds: 20'],
    ]);
    const applied = await runAzureCli(['apply', v2, '--yes'], env);
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
    const invoked = await runAzureCli(['--output', 'json', 'invoke', v2, '-f', PAYLOAD], env);
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(body(invoked.stdout)).toEqual(local);
  });

  it('re-applying makes no write call; destroy removes every deployment', async () => {
    const writes = cloud.emulator.writeCalls();
    const again = await runAzureCli(
      ['apply', azureFile.replace('iris-azure.yaml', 'batch.yaml'), '--yes'],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    const v2 = join(ws.dir, 'online-v2.yaml');
    const again2 = await runAzureCli(['apply', v2, '--yes'], env);
    expect(again2.code, again2.stderr).toBe(0);
    expect(cloud.emulator.writeCalls()).toBe(writes);
    for (const file of [v2, join(ws.dir, 'batch.yaml')]) {
      const destroyed = await runAzureCli(['destroy', file, '--yes'], env);
      expect(destroyed.code, destroyed.stderr).toBe(0);
    }
    for (const kind of ['onlineEndpoints', 'batchEndpoints', 'models/versions', 'autoscalesettings']) {
      expect(cloud.emulator.list(kind), kind).toEqual([]);
    }
    cloud.emulator.assertNoViolations();
  });
});
