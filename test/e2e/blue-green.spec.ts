// Blue/green rollouts of a local real-time endpoint under continuous traffic: a changed spec rolls out as
// generation 2 with zero failed requests and the new spec is what serves afterwards (then four more
// rollouts back and forth, since a handoff race shows only once every few); a rollout that cannot start
// (corrupt model) fails with a clear error while the old version keeps serving, and stays pending. A
// request that gets no answer within 10 s counts as failed (a hung connection is a lost request).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyJson, Row, Workspace } from './helpers.js';
import {
  comparePredictions,
  createWorkspace,
  http,
  IRIS_MODEL,
  irisRows,
  planActions,
  prng,
  referencePredictions,
  runCliJson,
  statusOf,
  writeManifest,
} from './helpers.js';

const NAME = `iris-bluegreen-${process.pid}`;
const MIB = 1024 * 1024;

interface Call {
  started: number;
  ended: number;
  ok: boolean;
  detail?: string;
}

/**
 * Clients that send requests back to back until stopped. Each request opens a NEW connection
 * (`agent: false`, `Connection: close`): a keep-alive client would have to retry an idle pooled socket the
 * old worker closes while draining (a reset any keep-alive client must handle, not a failed request), and a
 * retry would hide real failures. With one connection per request, every error is a failed request.
 */
class Traffic {
  readonly calls: Call[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly rows: readonly Row[],
    private readonly expectedLabels: readonly number[],
  ) {}

  start(clients: number): void {
    this.running = true;
    this.loops = Array.from({ length: clients }, (_, i) => this.loop(i));
  }

  /** Stops sending; resolves once the requests in flight ended (each within its 10 s timeout). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  failures(): Call[] {
    return this.calls.filter((c) => !c.ok);
  }

  /** Successful calls that started and ended within [from, to]. */
  succeededWithin(from: number, to: number): number {
    return this.calls.filter((c) => c.ok && c.started >= from && c.ended <= to).length;
  }

  private async loop(client: number): Promise<void> {
    let i = client;
    while (this.running) {
      const index = i++ % this.rows.length;
      const started = Date.now();
      let call: Call;
      try {
        const reply = await http(this.url, '/invocations', {
          body: JSON.stringify({ instances: [this.rows[index]] }),
          headers: { 'content-type': 'application/json' },
          timeoutMs: 10_000,
        });
        const label = (JSON.parse(reply.text) as { predictions?: { label: number }[] }).predictions?.[0]
          ?.label;
        const ok = reply.status === 200 && label === this.expectedLabels[index];
        call = {
          started,
          ended: Date.now(),
          ok,
          ...(ok ? {} : { detail: `HTTP ${reply.status}: ${reply.text}` }),
        };
      } catch (error) {
        call = { started, ended: Date.now(), ok: false, detail: (error as Error).message };
      }
      this.calls.push(call);
      // A breath between requests: still hundreds a second, without starving the CLI and the server.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

describe('blue/green rollout of a local endpoint under traffic', { timeout: 120_000 }, () => {
  let ws: Workspace;
  let v1 = '';
  let v2 = '';
  let broken = '';
  let url = '';
  let pid = 0;
  let traffic: Traffic | undefined;
  /** A valid request of about 1.5 MiB: over the 1 MiB limit of v1, under the 2 MiB limit of v2. */
  let big = '';
  const bigRows = 100_000;
  const stateDir = () => ws.stateDir;

  beforeAll(async () => {
    ws = await createWorkspace('blue-green');
    const variant = (file: string, payloadMB: string, uri = IRIS_MODEL) =>
      writeManifest(join(ws.dir, file), 'endpoint', [
        [/name: iris$/m, `name: ${NAME}`],
        ['payloadMB: 6', `payloadMB: ${payloadMB}`],
        [`uri: ${IRIS_MODEL}`, `uri: ${uri}`],
      ]);
    // The corrupt model: random bytes under a .onnx name (a distinct sha256, so the plan sees a change).
    const random = prng(7);
    const corrupt = join(ws.dir, 'corrupt.onnx');
    await writeFile(corrupt, Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256))));
    v1 = await variant('v1.yaml', '1');
    v2 = await variant('v2.yaml', '2');
    broken = await variant('broken.yaml', '2', corrupt);
    ws.track(v2);
    big = JSON.stringify({ instances: Array.from({ length: bigRows }, () => [5.1, 3.5, 1.4, 0.2]) });
    expect(big.length).toBeGreaterThan(1.25 * MIB);
    expect(big.length).toBeLessThan(1.75 * MIB);
  });

  afterAll(async () => {
    // Cleanup first: it must not wait on the clients (a hung request would hold it up).
    const stopped = traffic?.stop();
    await ws?.cleanup();
    await stopped;
  });

  const postBig = () =>
    http(url, '/invocations', { body: big, headers: { 'content-type': 'application/json' } });

  it('deploys v1 (payload limit 1 MB) and serves continuous traffic', async () => {
    const apply = await runCliJson<ApplyJson>(['apply', v1, '--yes'], { stateDir: stateDir() });
    expect(apply.code, apply.stderr).toBe(0);
    const status = await statusOf(v1, stateDir());
    url = status.url ?? '';
    pid = Number(status.details?.pid);
    expect(status).toMatchObject({ state: 'ready', details: { generation: 1 } });

    const rows = irisRows(64, 11);
    const labels = (await referencePredictions(rows)).map((p) => p.label);
    traffic = new Traffic(url, rows, labels);
    traffic.start(2);

    const before = await postBig();
    expect(before.status).toBe(413);
    expect(before.text).toMatch(/exceeds the limit of 1 MiB/);
    const t = traffic;
    await expect.poll(() => t.calls.filter((c) => c.ok).length, { timeout: 30_000 }).toBeGreaterThan(20);
    expect(t.failures()).toEqual([]);
  });

  it('rolls out v2 (limit 2 MB) as generation 2 in place, with zero failed requests', async () => {
    const t = traffic!;
    const plan = await planActions(v2, stateDir());
    expect(plan).toEqual([
      expect.objectContaining({
        kind: 'update',
        changes: [{ path: 'limits.payloadMB', before: 1, after: 2 }],
      }),
    ]);

    const from = Date.now();
    const apply = await runCliJson<ApplyJson>(['apply', v2, '--yes'], { stateDir: stateDir() });
    const to = Date.now();
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.json.outcomes[0]?.result).toMatchObject({ ok: true, executions: 1 });

    // Requests kept flowing while the new worker started and the old one drained, and none failed.
    expect(t.succeededWithin(from, to)).toBeGreaterThan(0);
    expect(t.failures()).toEqual([]);

    const status = await statusOf(v2, stateDir());
    expect(status).toMatchObject({ state: 'ready', url, details: { pid, generation: 2 } });
    // The new spec serves: a body between the old and the new limit is now accepted and predicted.
    const after = await postBig();
    expect(after.status, after.text.slice(0, 200)).toBe(200);
    const predictions = (JSON.parse(after.text) as { predictions: unknown[] }).predictions;
    expect(predictions).toHaveLength(bigRows);
    expect(
      comparePredictions(
        predictions.slice(0, 1) as never,
        await referencePredictions([[5.1, 3.5, 1.4, 0.2]]),
      ),
    ).toBeUndefined();
    expect(await planActions(v2, stateDir())).toEqual([expect.objectContaining({ kind: 'noop' })]);
  });

  it('rolls back and forth four more times under traffic, still with zero failed requests', async () => {
    // One rollout can pass by luck: races between handing a connection to a worker and draining it show
    // up once every few rollouts, so a few more are made (generations 3 to 6, ending on v2).
    const t = traffic!;
    for (const [i, manifest] of [v1, v2, v1, v2].entries()) {
      const from = Date.now();
      const apply = await runCliJson<ApplyJson>(['apply', manifest, '--yes'], { stateDir: stateDir() });
      expect(apply.code, apply.stderr).toBe(0);
      expect(apply.json.outcomes[0]?.plan.actions.map((a) => a.kind)).toEqual(['update']);
      expect(t.succeededWithin(from, Date.now()), `rollout ${i + 3}`).toBeGreaterThan(0);
    }
    expect(t.failures()).toEqual([]);
    const status = await statusOf(v2, stateDir());
    expect(status).toMatchObject({ state: 'ready', url, details: { pid, generation: 6 } });
    expect((await postBig()).status).toBe(200);
  });

  it('a rollout that cannot start fails clearly; the old version keeps serving and the change stays pending', async () => {
    const t = traffic!;
    const from = Date.now();
    const apply = await runCliJson<ApplyJson>(['apply', broken, '--yes'], { stateDir: stateDir() });
    const to = Date.now();
    expect(apply.code).not.toBe(0);
    expect(apply.json.ok).toBe(false);
    const error = apply.json.outcomes[0]?.result.failed[0]?.error;
    expect(error?.kind).toBe('unavailable');
    expect(error?.message).toMatch(/rollout 7 failed/);
    // Why, in the message itself: the runtime's own words about the model it could not load.
    expect(error?.message).toMatch(/cannot load ONNX model .*corrupt\.onnx/);
    expect(error?.message).toMatch(/previous version keeps serving/);
    expect(error?.hint).toMatch(/see the log: .*\.log/);

    expect(t.succeededWithin(from, to)).toBeGreaterThan(0);
    expect(t.failures()).toEqual([]);

    // Still generation 6 on the same process, with v2's limit.
    const status = await statusOf(v2, stateDir());
    expect(status).toMatchObject({ state: 'ready', url, details: { pid, generation: 6 } });
    expect((await postBig()).status).toBe(200);

    // The failed change is still to do, and v2 is still what is recorded.
    const pending = await planActions(broken, stateDir());
    expect(pending).toEqual([expect.objectContaining({ kind: 'update' })]);
    expect(pending[0]?.changes.map((c) => c.path)).toEqual(
      expect.arrayContaining(['model.path', 'model.sha256']),
    );
    expect(await planActions(v2, stateDir())).toEqual([expect.objectContaining({ kind: 'noop' })]);

    await t.stop();
    expect(t.failures()).toEqual([]);
    expect(t.calls.length).toBeGreaterThan(100);
  });
});
