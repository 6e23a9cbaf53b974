import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// A durable store-and-forward queue made of files, with no native addon (a bundle ships for two
// architectures; SQLite would need a compiled module per arch). A request is accepted only once its
// bytes are on disk: written under tmp/, fsynced, then renamed into queued/ (rename is atomic, so a
// crash leaves either nothing or a whole request). A worker claims one by renaming it into running/;
// whatever is in running/ at start-up was interrupted and goes back to queued/. Results are written
// the same way under results/. FIFO: ids sort by acceptance time.

export type RequestState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface RequestMeta {
  id: string;
  contentType: string;
  accept?: string;
  acceptedAt: string;
  bytes: number;
}

export interface ResultMeta {
  id: string;
  state: 'succeeded' | 'failed';
  /** HTTP status the model server answered with. */
  status: number;
  contentType: string;
  attempts: number;
  finishedAt: string;
  error?: string;
}

export interface Claimed {
  meta: RequestMeta;
  /** The request's file under running/: meta line, newline, then the body. */
  file: string;
  bodyOffset: number;
}

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

const ID_PATTERN = /^[0-9a-z]+(-[0-9a-z]+)*$/;

export function isRequestId(value: string): boolean {
  return value.length <= 64 && ID_PATTERN.test(value);
}

let counter = 0;
function newId(): string {
  // Time first (base 36, fixed width) so that names sort in acceptance order.
  return [
    Date.now().toString(36).padStart(9, '0'),
    (counter++ % 1_679_616).toString(36).padStart(4, '0'),
    randomBytes(4).toString('hex'),
  ].join('-');
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FileSpool {
  private constructor(readonly root: string) {}

  private dir(name: 'tmp' | 'queued' | 'running' | 'results'): string {
    return join(this.root, name);
  }

  /** Opens (creating) a spool folder and puts interrupted requests back in the queue. */
  static async open(root: string): Promise<FileSpool> {
    const spool = new FileSpool(root);
    for (const name of ['tmp', 'queued', 'running', 'results'] as const) {
      await mkdir(spool.dir(name), { recursive: true });
    }
    for (const name of await readdir(spool.dir('running'))) {
      await rename(join(spool.dir('running'), name), join(spool.dir('queued'), name));
    }
    for (const name of await readdir(spool.dir('tmp')))
      await rm(join(spool.dir('tmp'), name), { force: true });
    return spool;
  }

  /** Streams a request to disk and queues it; resolves once it is durable. */
  async enqueue(
    body: Readable,
    request: { contentType: string; accept?: string },
    maxBytes: number,
  ): Promise<RequestMeta> {
    const id = newId();
    const temp = join(this.dir('tmp'), `${id}.req`);
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) done(new PayloadTooLargeError(`the payload is larger than ${maxBytes} bytes`));
        else done(null, chunk);
      },
    });
    const meta: RequestMeta = {
      id,
      contentType: request.contentType,
      acceptedAt: new Date().toISOString(),
      bytes: 0,
    };
    if (request.accept !== undefined) meta.accept = request.accept;
    try {
      // The meta line is written first with the size unknown; the size is in the file length anyway.
      const head = `${JSON.stringify({ ...meta, bytes: undefined })}\n`;
      await writeFile(temp, head);
      await pipeline(body, counted, createWriteStream(temp, { flags: 'a' }));
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, join(this.dir('queued'), `${id}.req`));
      await fsyncDir(this.dir('queued'));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    meta.bytes = bytes;
    return meta;
  }

  /** Takes the oldest queued request, or undefined when the queue is empty. */
  async claim(): Promise<Claimed | undefined> {
    const names = (await readdir(this.dir('queued'))).filter((n) => n.endsWith('.req')).sort();
    for (const name of names) {
      const file = join(this.dir('running'), name);
      try {
        await rename(join(this.dir('queued'), name), file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // another worker took it
        throw error;
      }
      const raw = await readFile(file);
      const newline = raw.indexOf(0x0a);
      const meta = JSON.parse(raw.subarray(0, newline).toString('utf8')) as RequestMeta;
      meta.bytes = raw.length - newline - 1;
      return { meta, file, bodyOffset: newline + 1 };
    }
    return undefined;
  }

  async body(claimed: Claimed): Promise<Buffer> {
    return (await readFile(claimed.file)).subarray(claimed.bodyOffset);
  }

  /** Puts a claimed request back (a transient failure): it will be retried. */
  async release(claimed: Claimed): Promise<void> {
    await rename(claimed.file, join(this.dir('queued'), `${claimed.meta.id}.req`));
  }

  /** Stores the result (body first, then its meta: the meta file marks it done) and drops the request. */
  async complete(
    claimed: Claimed,
    result: Omit<ResultMeta, 'id' | 'finishedAt'>,
    body: Uint8Array,
  ): Promise<void> {
    const id = claimed.meta.id;
    const meta: ResultMeta = { id, ...result, finishedAt: new Date().toISOString() };
    await this.writeDurably(`${id}.out`, body);
    await this.writeDurably(`${id}.json`, JSON.stringify(meta));
    await fsyncDir(this.dir('results'));
    await rm(claimed.file, { force: true });
  }

  private async writeDurably(name: string, bytes: Uint8Array | string): Promise<void> {
    const temp = join(this.dir('tmp'), name);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(this.dir('results'), name));
  }

  /**
   * Where a request is; with its result once finished. Checked in the order a request moves (queued,
   * running, results), so a request moving meanwhile is still found in its next place.
   */
  async lookup(id: string): Promise<{ state: RequestState; result?: ResultMeta; body?: Buffer } | undefined> {
    if (!isRequestId(id)) return undefined;
    if ((await readdir(this.dir('queued'))).includes(`${id}.req`)) return { state: 'queued' };
    if ((await readdir(this.dir('running'))).includes(`${id}.req`)) return { state: 'running' };
    try {
      const result = JSON.parse(
        await readFile(join(this.dir('results'), `${id}.json`), 'utf8'),
      ) as ResultMeta;
      const body = await readFile(join(this.dir('results'), `${id}.out`));
      return { state: result.state, result, body };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return undefined;
  }

  async counts(): Promise<{ queued: number; running: number; finished: number }> {
    const count = async (name: 'queued' | 'running' | 'results', suffix: string) =>
      (await readdir(this.dir(name))).filter((n) => n.endsWith(suffix)).length;
    return {
      queued: await count('queued', '.req'),
      running: await count('running', '.req'),
      finished: await count('results', '.json'),
    };
  }
}
