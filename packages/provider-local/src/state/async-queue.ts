import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';

export type AsyncState = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired';

export interface AsyncRequestRow {
  id: string;
  deployment: string;
  state: AsyncState;
  attempts: number;
  maxAttempts: number;
  leaseUntil: number | null;
  contentType: string;
  inputPath: string;
  outputPath: string;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
}

interface RawRequest {
  id: string;
  deployment: string;
  state: AsyncState;
  attempts: number;
  max_attempts: number;
  lease_until: number | null;
  content_type: string;
  input_path: string;
  output_path: string;
  error: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

/**
 * A durable work queue on SQLite: at-least-once delivery with leases. A claimed request is leased; a
 * worker that dies (even by `kill -9`) loses its lease and the request is queued again, up to
 * `maxAttempts`, after which it is dead-lettered as `failed`. Results are written under the request's
 * id, so a redelivery overwrites rather than duplicates.
 */
export class AsyncQueue {
  private readonly sql: {
    insert: Statement<Record<string, unknown>>;
    claim: Statement<[number, number, string, number], RawRequest>;
    requeue: Statement<[number, number]>;
    recoverRequeue: Statement<[number, string]>;
    recoverDeadLetter: Statement<[number, string]>;
    deadLetter: Statement<[number, number]>;
    expire: Statement<[number, number]>;
    extend: Statement<[number, number, string]>;
    complete: Statement<[number, string]>;
    retry: Statement<[string, number, string]>;
    fail: Statement<[string, number, string]>;
    get: Statement<[string], RawRequest>;
    counts: Statement<[string], { state: AsyncState; n: number }>;
  };

  constructor(
    private readonly db: SqliteDatabase,
    readonly deployment: string,
  ) {
    this.sql = {
      insert:
        db.prepare(`INSERT INTO async_requests (id, deployment, state, attempts, max_attempts, content_type,
          input_path, output_path, created_at, updated_at, expires_at)
        VALUES (@id, @deployment, 'queued', 0, @maxAttempts, @contentType, @inputPath, @outputPath, @now, @now, @expiresAt)`),
      // One statement, so two workers can never claim the same row; the inner SELECT uses the index.
      claim:
        db.prepare(`UPDATE async_requests SET state = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ?
        WHERE id = (SELECT id FROM async_requests WHERE deployment = ? AND state = 'queued'
                    AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at LIMIT 1)
        RETURNING *`) as unknown as Statement<[number, number, string, number], RawRequest>,
      requeue: db.prepare(`UPDATE async_requests SET state = 'queued', lease_until = NULL, updated_at = ?
        WHERE state = 'running' AND lease_until < ? AND attempts < max_attempts`) as unknown as Statement<
        [number, number]
      >,
      recoverRequeue:
        db.prepare(`UPDATE async_requests SET state = 'queued', lease_until = NULL, updated_at = ?
        WHERE deployment = ? AND state = 'running' AND attempts < max_attempts`) as unknown as Statement<
          [number, string]
        >,
      recoverDeadLetter:
        db.prepare(`UPDATE async_requests SET state = 'failed', error = 'the worker died or timed out on every attempt', lease_until = NULL, updated_at = ?
        WHERE deployment = ? AND state = 'running' AND attempts >= max_attempts`) as unknown as Statement<
          [number, string]
        >,
      deadLetter:
        db.prepare(`UPDATE async_requests SET state = 'failed', error = 'the worker died or timed out on every attempt', updated_at = ?
        WHERE state = 'running' AND lease_until < ? AND attempts >= max_attempts`) as unknown as Statement<
          [number, number]
        >,
      expire:
        db.prepare(`UPDATE async_requests SET state = 'expired', error = 'not processed before its queue TTL', updated_at = ?
        WHERE state = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?`) as unknown as Statement<
          [number, number]
        >,
      extend: db.prepare(
        `UPDATE async_requests SET lease_until = ?, updated_at = ? WHERE id = ? AND state = 'running'`,
      ),
      complete: db.prepare(
        `UPDATE async_requests SET state = 'succeeded', error = NULL, lease_until = NULL, updated_at = ? WHERE id = ?`,
      ),
      retry:
        db.prepare(`UPDATE async_requests SET state = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
          error = ?, lease_until = NULL, updated_at = ? WHERE id = ?`),
      fail: db.prepare(
        `UPDATE async_requests SET state = 'failed', error = ?, lease_until = NULL, updated_at = ? WHERE id = ?`,
      ),
      get: db.prepare('SELECT * FROM async_requests WHERE id = ?'),
      counts: db.prepare(
        'SELECT state, COUNT(*) AS n FROM async_requests WHERE deployment = ? GROUP BY state',
      ),
    };
  }

  enqueue(request: {
    id: string;
    contentType: string;
    inputPath: string;
    outputPath: string;
    maxAttempts: number;
    ttlMs?: number;
  }): void {
    const now = Date.now();
    this.sql.insert.run({
      id: request.id,
      deployment: this.deployment,
      maxAttempts: request.maxAttempts,
      contentType: request.contentType,
      inputPath: request.inputPath,
      outputPath: request.outputPath,
      now,
      expiresAt: request.ttlMs === undefined ? null : now + request.ttlMs,
    });
  }

  /** Takes the oldest queued request and leases it for `leaseMs`. */
  claim(leaseMs: number): AsyncRequestRow | undefined {
    const now = Date.now();
    const raw = this.sql.claim.get(now + leaseMs, now, this.deployment, now);
    return raw === undefined ? undefined : toRow(raw);
  }

  /** Returns expired leases to the queue (or dead-letters them) and expires requests past their TTL. */
  reap(): { requeued: number; deadLettered: number; expired: number } {
    const now = Date.now();
    return this.db.transaction(() => ({
      requeued: this.sql.requeue.run(now, now).changes,
      deadLettered: this.sql.deadLetter.run(now, now).changes,
      expired: this.sql.expire.run(now, now).changes,
    }))();
  }

  /**
   * Voids every lease of this deployment: its running requests go back to the queue (or are dead-lettered
   * when out of attempts) at once instead of when their leases expire. Only for a queue process that just
   * started: one process serves a deployment, and a new one starts only once the old one is gone, so every
   * lease found then was held by a process that died (`kill -9`, a crash).
   */
  recoverAbandoned(): { requeued: number; deadLettered: number } {
    const now = Date.now();
    return this.db.transaction(() => ({
      requeued: this.sql.recoverRequeue.run(now, this.deployment).changes,
      deadLettered: this.sql.recoverDeadLetter.run(now, this.deployment).changes,
    }))();
  }

  extend(id: string, leaseMs: number): void {
    const now = Date.now();
    this.sql.extend.run(now + leaseMs, now, id);
  }

  complete(id: string): void {
    this.sql.complete.run(Date.now(), id);
  }

  /** A failure worth another try (queued again until attempts run out). */
  retry(id: string, error: string): void {
    this.sql.retry.run(error, Date.now(), id);
  }

  /** A failure no retry can fix (bad payload): dead-lettered at once. */
  fail(id: string, error: string): void {
    this.sql.fail.run(error, Date.now(), id);
  }

  get(id: string): AsyncRequestRow | undefined {
    const raw = this.sql.get.get(id);
    return raw === undefined ? undefined : toRow(raw);
  }

  counts(): Record<AsyncState, number> {
    const counts: Record<AsyncState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, expired: 0 };
    for (const { state, n } of this.sql.counts.all(this.deployment)) counts[state] = n;
    return counts;
  }
}

function toRow(raw: RawRequest): AsyncRequestRow {
  return {
    id: raw.id,
    deployment: raw.deployment,
    state: raw.state,
    attempts: raw.attempts,
    maxAttempts: raw.max_attempts,
    leaseUntil: raw.lease_until,
    contentType: raw.content_type,
    inputPath: raw.input_path,
    outputPath: raw.output_path,
    error: raw.error,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    expiresAt: raw.expires_at,
  };
}
