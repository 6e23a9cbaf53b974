import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AsyncQueue } from './async-queue.js';
import { StateStore } from './state-store.js';

describe('AsyncQueue', () => {
  let dir: string;
  let store: StateStore;
  let queue: AsyncQueue;
  let clock: number;

  const enqueue = (id: string, maxAttempts = 3, target = queue) =>
    target.enqueue({
      id,
      contentType: 'application/json',
      inputPath: `/in/${id}`,
      outputPath: `/out/${id}`,
      maxAttempts,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'modelport-queue-'));
    store = new StateStore(dir);
    queue = new AsyncQueue(store.db, 'a');
    clock = 1_000_000;
    // Rows are ordered by created_at: a clock that moves keeps the order deterministic.
    vi.spyOn(Date, 'now').mockImplementation(() => ++clock);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands out requests oldest first, each to one claimer only', () => {
    enqueue('r1');
    enqueue('r2');
    expect(queue.claim(1000)?.id).toBe('r1');
    expect(queue.claim(1000)?.id).toBe('r2');
    expect(queue.claim(1000)).toBeUndefined();
    expect(queue.get('r1')).toMatchObject({ state: 'running', attempts: 1 });
  });

  it('keeps deployments apart', () => {
    const other = new AsyncQueue(store.db, 'b');
    enqueue('r1', 3, other);
    expect(queue.claim(1000)).toBeUndefined();
    expect(other.claim(1000)?.id).toBe('r1');
    expect(queue.counts()).toMatchObject({ queued: 0, running: 0 });
    expect(other.counts()).toMatchObject({ running: 1 });
  });

  it('retries a failed attempt until attempts run out, then dead-letters it', () => {
    enqueue('r1', 2);
    queue.claim(1000);
    queue.retry('r1', 'boom 1');
    expect(queue.get('r1')).toMatchObject({ state: 'queued', attempts: 1, error: 'boom 1' });
    queue.claim(1000);
    queue.retry('r1', 'boom 2');
    expect(queue.get('r1')).toMatchObject({ state: 'failed', attempts: 2, error: 'boom 2' });
  });

  it('dead-letters a bad payload at once, and completes good ones', () => {
    enqueue('bad');
    enqueue('good');
    queue.claim(1000);
    queue.fail('bad', 'the payload is not valid JSON');
    queue.claim(1000);
    queue.complete('good');
    expect(queue.get('bad')).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: 'the payload is not valid JSON',
    });
    expect(queue.get('good')).toMatchObject({ state: 'succeeded', error: null, leaseUntil: null });
    expect(queue.counts()).toEqual({ queued: 0, running: 0, succeeded: 1, failed: 1, expired: 0 });
  });

  it('requeues a request whose lease ran out, and dead-letters it after the last attempt', () => {
    enqueue('r1', 2);
    queue.claim(10);
    expect(queue.reap().requeued).toBe(0); // lease still valid
    clock += 100;
    expect(queue.reap()).toMatchObject({ requeued: 1, deadLettered: 0 });
    expect(queue.claim(10)?.attempts).toBe(2);
    clock += 100;
    expect(queue.reap()).toMatchObject({ requeued: 0, deadLettered: 1 });
    expect(queue.get('r1')?.state).toBe('failed');
  });

  it('extends a lease while the worker is alive', () => {
    enqueue('r1');
    queue.claim(10);
    clock += 5;
    queue.extend('r1', 1000);
    clock += 100;
    expect(queue.reap().requeued).toBe(0);
    expect(queue.get('r1')?.state).toBe('running');
  });

  it('recoverAbandoned voids the leases of its own deployment at once (a restart after kill -9)', () => {
    const other = new AsyncQueue(store.db, 'b');
    enqueue('held');
    enqueue('spent', 1);
    enqueue('waiting');
    enqueue('elsewhere', 3, other);
    queue.claim(60_000); // held: a long lease, still valid
    queue.claim(60_000); // spent: its only attempt
    other.claim(60_000);
    expect(queue.recoverAbandoned()).toEqual({ requeued: 1, deadLettered: 1 });
    expect(queue.get('held')).toMatchObject({ state: 'queued', attempts: 1, leaseUntil: null });
    expect(queue.get('spent')).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/every attempt/),
    });
    expect(queue.get('waiting')).toMatchObject({ state: 'queued', attempts: 0 });
    expect(other.get('elsewhere')?.state).toBe('running'); // another deployment's lease is not ours to void
    expect(queue.claim(1000)?.id).toBe('held'); // redelivered first: it is the oldest
    expect(queue.recoverAbandoned()).toEqual({ requeued: 1, deadLettered: 0 });
  });

  it('expires requests not processed within their TTL', () => {
    queue.enqueue({
      id: 'r1',
      contentType: 'application/json',
      inputPath: '/i',
      outputPath: '/o',
      maxAttempts: 1,
      ttlMs: 10,
    });
    clock += 100;
    expect(queue.claim(1000)).toBeUndefined();
    expect(queue.reap().expired).toBe(1);
    expect(queue.get('r1')).toMatchObject({ state: 'expired', error: expect.stringMatching(/TTL/) });
  });
});
