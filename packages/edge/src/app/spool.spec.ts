import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileSpool, isRequestId, PayloadTooLargeError } from './spool.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-spool-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const body = (text: string): Readable => Readable.from([Buffer.from(text)]);

describe('FileSpool', () => {
  it('queues durably, hands requests out oldest first, and keeps results', async () => {
    const spool = await FileSpool.open(join(work, 'a'));
    const first = await spool.enqueue(
      body('{"instances":[[1,2,3,4]]}'),
      { contentType: 'application/json' },
      1024,
    );
    const second = await spool.enqueue(
      body('5,6,7,8\n'),
      { contentType: 'text/csv', accept: 'text/csv' },
      1024,
    );
    expect(isRequestId(first.id)).toBe(true);
    expect(first.bytes).toBe(25);
    expect(await spool.counts()).toEqual({ queued: 2, running: 0, finished: 0 });
    expect((await spool.lookup(first.id))?.state).toBe('queued');

    const claimed = await spool.claim();
    expect(claimed?.meta).toMatchObject({ id: first.id, contentType: 'application/json', bytes: 25 });
    expect((await spool.body(claimed!)).toString()).toBe('{"instances":[[1,2,3,4]]}');
    expect((await spool.lookup(first.id))?.state).toBe('running');
    await spool.complete(
      claimed!,
      { state: 'succeeded', status: 200, contentType: 'application/json', attempts: 1 },
      Buffer.from('{"predictions":[0]}'),
    );
    const done = await spool.lookup(first.id);
    expect(done?.state).toBe('succeeded');
    expect(done?.body?.toString()).toBe('{"predictions":[0]}');

    const next = await spool.claim();
    expect(next?.meta).toMatchObject({ id: second.id, contentType: 'text/csv', accept: 'text/csv' });
    await spool.release(next!);
    expect((await spool.lookup(second.id))?.state).toBe('queued');
  });

  it('puts requests interrupted mid-work back in the queue when reopened', async () => {
    const root = join(work, 'b');
    const spool = await FileSpool.open(root);
    const meta = await spool.enqueue(body('x'), { contentType: 'application/json' }, 1024);
    await spool.claim(); // then the process dies (kill -9): the request is left in running/
    const reopened = await FileSpool.open(root);
    expect((await reopened.lookup(meta.id))?.state).toBe('queued');
    expect((await reopened.claim())?.meta.id).toBe(meta.id);
  });

  it('refuses payloads over the limit and leaves nothing behind; unknown and malformed ids are not found', async () => {
    const root = join(work, 'c');
    const spool = await FileSpool.open(root);
    await expect(
      spool.enqueue(body('x'.repeat(100)), { contentType: 'application/json' }, 10),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await readdir(join(root, 'queued'))).toEqual([]);
    expect(await spool.lookup('0abc-0000-deadbeef')).toBeUndefined();
    expect(await spool.lookup('../../etc/passwd')).toBeUndefined();
    expect(isRequestId('a/b')).toBe(false);
    // A half-written request (the process died before the rename) is dropped when the spool reopens.
    await writeFile(join(root, 'tmp', 'half.req'), '{"id":"half"}\n{"instan');
    await FileSpool.open(root);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });
});
