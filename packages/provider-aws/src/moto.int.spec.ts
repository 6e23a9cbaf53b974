// The same lifecycle against moto_server, an independent AWS emulator (Python, on the machine image): it
// checks that what the provider sends and reads back also works with someone else's idea of the APIs.
// Where moto_server is not on PATH, the suite skips and says so.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ListEndpointsCommand, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefaultAwsClientFactory } from './client-factory.js';
import { DEFAULT_OPTIONS } from './options.js';
import { BUCKET, FAKE_CREDENTIALS, REGION, copyExample, modelportWith } from './testing/harness.js';

function onPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

// MOTO_URL: a moto_server already running (e.g. started by .ci/run); otherwise the suite starts its own
// (MOTO_SERVER names the executable, else it is looked up on PATH).
const MOTO_URL = process.env['MOTO_URL'];
const MOTO = MOTO_URL === undefined ? (process.env['MOTO_SERVER'] ?? onPath('moto_server')) : undefined;
if (MOTO_URL === undefined && MOTO === undefined) {
  console.warn(
    'moto.int.spec.ts: moto_server is not on PATH (and MOTO_URL is not set): the cross-check against moto is skipped',
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

describe.skipIf(MOTO_URL === undefined && MOTO === undefined)(
  'the AWS provider against moto_server',
  { sequential: true, timeout: 60_000 },
  () => {
    let moto: ChildProcess | undefined;
    let url: string;
    let dir: string;
    let factory: DefaultAwsClientFactory;
    const options = {
      ...DEFAULT_OPTIONS,
      pollIntervalMs: 50,
      waitTimeoutMs: 20_000,
      partSizeBytes: 5 * 1024 * 1024,
    };
    const mp = () => modelportWith(factory, options);

    beforeAll(async () => {
      if (MOTO_URL !== undefined) {
        url = MOTO_URL.replace(/\/+$/, '');
        await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      } else {
        const port = await freePort();
        url = `http://127.0.0.1:${port}`;
        moto = spawn(MOTO as string, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      }
      for (let i = 0; i < 200; i++) {
        const up = await fetch(`${url}/moto-api/`).then(
          (r) => r.status < 500,
          () => false,
        );
        if (up) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      dir = await mkdtemp(join(tmpdir(), 'modelport-moto-'));
      factory = new DefaultAwsClientFactory({
        endpoint: url,
        credentials: FAKE_CREDENTIALS,
        retryStrategy: new ConfiguredRetryStrategy(2, () => 5),
      });
      await factory.clients(REGION).s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    }, 60_000);

    afterAll(async () => {
      if (moto?.pid !== undefined) moto.kill('SIGTERM');
      else if (url !== undefined)
        await fetch(`${url}/moto-api/reset`, { method: 'POST' }).catch(() => undefined);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    let base: string;

    // moto answers Application Auto Scaling's ListTagsForResource with a 500 (not implemented), so the
    // manifests here have no autoscaling; the rest is the real-time lifecycle as against the emulator.
    const noScaling: [RegExp, string] = [/ {2}scaling:\n(?: {4}.*\n)+/, ''];

    it('applies a real-time endpoint (artifact, model, config, endpoint)', async () => {
      base = await copyExample(dir, 'iris-realtime.yaml', 'moto.yaml', [noScaling]);
      const [outcome] = await mp().apply(base);
      expect(outcome?.result.failed).toEqual([]);
      const sm = factory.clients(REGION).sagemaker;
      expect((await sm.send(new ListEndpointsCommand({}))).Endpoints?.map((e) => e.EndpointName)).toEqual([
        'iris',
      ]);
    });

    it('plans no-op from what moto reads back (tags and Describe calls)', async () => {
      const [plan] = await mp().plan(base);
      expect(
        plan?.actions
          .filter((a) => a.kind !== 'noop')
          .map((a) => `${a.kind} ${a.id}: ${a.reason} ${JSON.stringify(a.changes)}`),
      ).toEqual([]);
    });

    // moto has no UpdateEndpoint (it answers 500): the update fails there, which cross-checks the rollback —
    // the new model and config are removed and the endpoint keeps the good version.
    it('an update that fails (moto has no UpdateEndpoint) is rolled back, leaving the good version only', async () => {
      const sm = factory.clients(REGION).sagemaker;
      const before = (await sm.send(new ListModelsCommand({}))).Models?.map((m) => m.ModelName);
      const changed = await copyExample(dir, 'iris-realtime.yaml', 'moto-changed.yaml', [
        noScaling,
        ['timeoutSeconds: 30', 'timeoutSeconds: 40'],
      ]);
      const [outcome] = await mp().apply(changed);
      expect(outcome?.result.failed.map((f) => f.id)).toEqual(['sagemaker:Endpoint/iris']);
      expect(outcome?.result.rolledBack).toHaveLength(2);
      expect((await sm.send(new ListModelsCommand({}))).Models?.map((m) => m.ModelName)).toEqual(before);
      const [plan] = await mp().plan(base);
      expect(new Set(plan?.actions.map((a) => a.kind))).toEqual(new Set(['noop']));
    });

    it('destroys everything', async () => {
      const [outcome] = await mp().destroy(base);
      expect(outcome?.result.failed).toEqual([]);
      const clients = factory.clients(REGION);
      expect((await clients.sagemaker.send(new ListEndpointsCommand({}))).Endpoints ?? []).toEqual([]);
      expect((await clients.sagemaker.send(new ListModelsCommand({}))).Models ?? []).toEqual([]);
      expect((await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).toEqual(
        [],
      );
    });
  },
);
