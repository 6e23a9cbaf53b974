// The durable async queue survives `kill -9` of its process: 200 requests are accepted, the supervisor is
// SIGKILLed while its worker is in the middle of one, re-applying restarts it, and every accepted request
// ends with exactly one complete result; a malformed payload is dead-lettered without holding up the queue.
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyJson, Prediction, Row, Workspace } from './helpers.js';
import {
  comparePredictions,
  createWorkspace,
  http,
  irisRows,
  planActions,
  processAlive,
  referencePredictions,
  ROOT,
  runCli,
  runCliJson,
  statusOf,
  waitFor,
  writeManifest,
} from './helpers.js';

const NAME = `iris-async-kill-${process.pid}`;
const REQUESTS = 200;
/** Rows per request: two micro-batches of the runtime (1024 rows each), so each takes a while. */
const ROWS_PER_REQUEST = 2000;

// better-sqlite3 is a dependency of provider-local, not of the repo root; the few members used, by hand.
interface Sqlite {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
  close(): void;
}
const Database = createRequire(join(ROOT, 'packages/provider-local/package.json'))('better-sqlite3') as new (
  path: string,
  options: { readonly: boolean },
) => Sqlite;

interface QueueRow {
  id: string;
  state: string;
  attempts: number;
  error: string | null;
}

interface Accepted {
  /** `local/<deployment>/<request>` */
  id: string;
  outputLocation: string;
  /** Which payload (-1: the malformed one). */
  index: number;
}

const requestId = (a: Accepted): string => a.id.split('/')[2] ?? '';

describe(
  'async endpoint: kill -9 of the queue process loses and duplicates nothing',
  { timeout: 180_000 },
  () => {
    let ws: Workspace;
    let manifest = '';
    let outDir = '';
    let url = '';
    let pid = 0;
    const payloads: Row[][] = [];
    const accepted: Accepted[] = [];
    let bad: Accepted | undefined;
    /** The request the worker was in the middle of when its process was killed. */
    let interrupted: QueueRow | undefined;

    const queueRows = (): QueueRow[] => {
      const db = new Database(join(ws.stateDir, 'state.db'), { readonly: true });
      try {
        return db
          .prepare(
            'SELECT id, state, attempts, error FROM async_requests WHERE deployment = ? ORDER BY created_at',
          )
          .all(NAME) as QueueRow[];
      } finally {
        db.close();
      }
    };

    const apply = async (): Promise<void> => {
      const result = await runCliJson<ApplyJson>(['apply', manifest, '--yes'], { stateDir: ws.stateDir });
      expect(result.code, result.stderr).toBe(0);
      const status = await statusOf(manifest, ws.stateDir);
      expect(status.state).toBe('ready');
      url = status.url ?? '';
      pid = Number(status.details?.pid);
      expect(processAlive(pid)).toBe(true);
    };

    beforeAll(async () => {
      ws = await createWorkspace('async-kill');
      outDir = join(ws.dir, 'out');
      manifest = await writeManifest(join(ws.dir, 'async.yaml'), 'async', [
        [/name: iris-async$/m, `name: ${NAME}`],
        // Retries to spare: a killed attempt counts as one.
        ['maxRetries: 2', `maxRetries: 10\n    outputLocation: ${outDir}`],
        [
          '  target:\n    provider: local\n',
          '  target:\n    provider: local\n  extensions:\n    local:\n      workers: 1\n',
        ],
      ]);
      ws.track(manifest);
      for (let i = 0; i < REQUESTS; i++) payloads.push(irisRows(ROWS_PER_REQUEST, 1000 + i));
    });

    afterAll(async () => {
      await ws?.cleanup();
    });

    it('deploys the async endpoint', async () => {
      await apply();
      const status = await statusOf(manifest, ws.stateDir);
      expect(status.details?.['queue']).toEqual({
        queued: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        expired: 0,
      });
    });

    it(`accepts ${REQUESTS} JSON-lines requests and a malformed one (202 each)`, async () => {
      const submit = async (body: string, contentType: string, index: number): Promise<Accepted> => {
        const reply = await http(url, '/async-invocations', {
          body,
          headers: { 'content-type': contentType },
        });
        expect(reply.status, reply.text).toBe(202);
        const handle = JSON.parse(reply.text) as { id: string; outputLocation: string };
        expect(handle.id).toMatch(new RegExp(`^local/${NAME}/[0-9a-f-]{36}$`));
        expect(reply.headers['x-modelport-request-id']).toBe(handle.id);
        return { ...handle, index };
      };
      const good = async (index: number): Promise<void> => {
        const body = `${(payloads[index] ?? []).map((r) => JSON.stringify(r)).join('\n')}\n`;
        accepted[index] = await submit(body, 'application/jsonlines', index);
      };
      await good(0);
      await good(1);
      // Early in the queue, so that everything behind it shows that it does not block.
      bad = await submit('{"instances": [[5.1, 3.5,', 'application/json', -1);
      // The rest from a few clients at once, to stay well ahead of the worker.
      let next = 2;
      const client = async (): Promise<void> => {
        while (next < REQUESTS) await good(next++);
      };
      await Promise.all([client(), client(), client(), client()]);
      expect(new Set(accepted.map((a) => a.id)).size).toBe(REQUESTS);
    });

    it('SIGKILLs the queue process in the middle of a request', async () => {
      // The moment a result has just begun to be written (at most one micro-batch of its `.partial` file on
      // disk, two more to go), the worker holds a lease: kill then. Should the kill still land between two
      // requests (nothing leased: not the case under test), restart and try on a later request.
      for (let attempt = 1; interrupted === undefined; attempt++) {
        await waitFor(
          'the worker to begin writing a result',
          async () => {
            for (const name of (await readdir(outDir)).filter((n) => n.endsWith('.partial'))) {
              const size = await stat(join(outDir, name)).then(
                (s) => s.size,
                () => undefined,
              );
              if (size !== undefined && size < 80_000) return true;
            }
            return undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1 },
        );
        process.kill(pid, 'SIGKILL');
        await waitFor('the killed process to be gone', () => (processAlive(pid) ? undefined : true), {
          timeoutMs: 10_000,
        });
        const rows = queueRows();
        const running = rows.filter((r) => r.state === 'running');
        expect(running.length).toBeLessThanOrEqual(1); // one worker
        // Killed midway: requests were still waiting.
        expect(rows.filter((r) => r.state === 'queued').length).toBeGreaterThan(0);
        interrupted = running[0];
        if (interrupted === undefined) {
          expect(attempt, 'three kills in a row landed between two requests').toBeLessThan(3);
          await apply();
        }
      }
      expect(interrupted?.attempts).toBe(1);
    });

    it('plans a replace (the process is gone) and re-applying restarts it', async () => {
      const status = await statusOf(manifest, ws.stateDir);
      expect(status.state).toBe('stopped');
      expect(await planActions(manifest, ws.stateDir)).toEqual([
        expect.objectContaining({ kind: 'replace', reason: 'is stopped' }),
      ]);
      await apply();
      // The restarted process took back the request the dead one held, without waiting for its lease to run out.
      const log = await readFile(join(ws.stateDir, 'logs', `endpoint-${NAME}.log`), 'utf8');
      expect(log).toContain('"msg":"recovered abandoned requests","requeued":1,"deadLettered":0');
    });

    it('finishes the queue: every accepted request has exactly one complete result', async () => {
      const rows = await waitFor(
        'the queue to drain',
        () => {
          const all = queueRows();
          return all.every((r) => r.state === 'succeeded' || r.state === 'failed') ? all : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      // No request lost, none made up: the queue holds exactly what was accepted.
      expect(rows).toHaveLength(REQUESTS + 1);
      expect(new Set(byId.keys())).toEqual(new Set([...accepted, bad].map((a) => requestId(a!))));
      for (const a of accepted) expect(byId.get(requestId(a))?.state, a.id).toBe('succeeded');
      // The interrupted request was delivered once more, and only once.
      expect(byId.get(interrupted?.id ?? '')).toMatchObject({ state: 'succeeded', attempts: 2 });

      // Exactly one result file per request, and nothing half-written left behind.
      const names = (await readdir(outDir)).sort();
      expect(names).toEqual(accepted.map((a) => `${requestId(a)}.out`).sort());

      const reference = await referencePredictions(payloads.flat());
      for (const a of accepted) {
        expect(a.outputLocation).toBe(join(outDir, `${requestId(a)}.out`));
        const lines = (await readFile(a.outputLocation, 'utf8')).trimEnd().split('\n');
        expect(lines, a.id).toHaveLength(ROWS_PER_REQUEST);
        const predictions = lines.map((line) => JSON.parse(line) as Prediction);
        const expected = reference.slice(a.index * ROWS_PER_REQUEST, (a.index + 1) * ROWS_PER_REQUEST);
        expect(comparePredictions(predictions, expected), a.id).toBeUndefined();
      }
    });

    it('dead-letters the malformed payload as failed, with the reason, after one attempt', async () => {
      const row = queueRows().find((r) => r.id === requestId(bad!));
      expect(row).toMatchObject({ state: 'failed', attempts: 1 });
      expect(row?.error).toMatch(/not valid JSON/);

      const [failed, succeeded, text, status] = await Promise.all([
        runCliJson<{ ok: boolean; state: string; error?: string }>(['result', bad!.id], {
          stateDir: ws.stateDir,
        }),
        runCliJson<{ ok: boolean; state: string; contentType?: string; body?: string }>(
          ['result', accepted[0]!.id],
          {
            stateDir: ws.stateDir,
          },
        ),
        runCli(['result', bad!.id], { stateDir: ws.stateDir }),
        statusOf(manifest, ws.stateDir),
      ]);
      expect(failed.code).toBe(1);
      expect(failed.json).toMatchObject({
        ok: false,
        state: 'failed',
        error: expect.stringMatching(/not valid JSON/),
      });
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/failed: .*not valid JSON/);
      expect(succeeded.code).toBe(0);
      expect(succeeded.json).toMatchObject({
        ok: true,
        state: 'succeeded',
        contentType: 'application/jsonlines',
      });
      expect(String(succeeded.json.body).trimEnd().split('\n')).toHaveLength(ROWS_PER_REQUEST);
      expect(status.details?.['queue']).toEqual({
        queued: 0,
        running: 0,
        succeeded: REQUESTS,
        failed: 1,
        expired: 0,
      });
    });
  },
);
