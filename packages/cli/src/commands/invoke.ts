import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import type { AsyncResult } from '@modelport/core';
import { ModelportError, sleep } from '@modelport/core';
import type { CliContext } from '../context.js';
import type { ActionWrapper } from '../main.js';

interface InvokeFlags {
  data?: string;
  file?: string;
  contentType?: string;
  accept?: string;
  protocol?: string;
  name?: string;
  async?: boolean;
  timeout?: string;
}

export function registerInvoke(program: Command, action: ActionWrapper): void {
  program
    .command('invoke')
    .description('send a request to a deployed endpoint and print the answer')
    .argument('<manifest>', 'manifest file of the endpoint')
    .option('-d, --data <json>', 'request body given inline')
    .option('-f, --file <path>', 'request body from a file ("-" for stdin)')
    .option(
      '-t, --content-type <type>',
      'content type (default from the file extension, else application/json)',
    )
    .option('--accept <type>', 'response type wanted (e.g. text/csv)')
    .option('--protocol <name>', 'local provider: sagemaker, kserve-v1, v2, vertex or azure')
    .option('-n, --name <name>', 'the endpoint, when the file holds several')
    .option('--async', 'queue the request on an async endpoint and print its id')
    .option('--timeout <seconds>', 'give up after this long')
    .action(action(async (ctx, manifest: string, flags: InvokeFlags) => runInvoke(ctx, manifest, flags)));

  program
    .command('result')
    .description('fetch the result of an async request')
    .argument('<id>', 'request id printed by `modelport invoke --async`')
    .option('-m, --manifest <file>', 'manifest of the endpoint (when the provider needs it)')
    .option('-w, --wait <seconds>', 'wait up to this long for the result', '0')
    .action(
      action(async (ctx, id: string, flags: { manifest?: string; wait: string }) => {
        const api = ctx.modelport();
        const deadline = Date.now() + Number(flags.wait) * 1000;
        let result: AsyncResult;
        for (;;) {
          result = await api.asyncResult(id, flags.manifest);
          if (result.state === 'succeeded' || result.state === 'failed' || Date.now() >= deadline) break;
          await sleep(250, ctx.signal);
        }
        if (ctx.json) {
          const { body, ...rest } = result;
          ctx.printJson({
            ok: result.state !== 'failed',
            ...rest,
            ...(body === undefined ? {} : { body: decode(body) }),
          });
        } else if (result.state === 'succeeded' && result.body !== undefined) {
          ctx.out(pretty(Buffer.from(result.body).toString('utf8'), ctx));
        } else {
          ctx.out(`${id}: ${result.state}${result.error === undefined ? '' : `: ${result.error}`}`);
        }
        if (result.state === 'failed') return 1;
        return result.state === 'succeeded' ? 0 : 75; // EX_TEMPFAIL: not ready yet, try again
      }),
    );
}

async function runInvoke(ctx: CliContext, manifest: string, flags: InvokeFlags): Promise<number> {
  const api = ctx.modelport();
  const select = flags.name === undefined ? {} : { name: flags.name };
  const contentType = flags.contentType ?? contentTypeFor(flags.file);
  if (flags.async === true) {
    const { body, sizeBytes } = await streamedBody(flags);
    const handle = await api.invokeAsync(
      manifest,
      { body, contentType, ...(sizeBytes === undefined ? {} : { sizeBytes }) },
      select,
    );
    if (ctx.json) ctx.printJson({ ok: true, ...handle });
    else ctx.out(handle.id);
    return 0;
  }
  const body = await bufferedBody(flags);
  const response = await api.invoke(
    manifest,
    {
      body,
      contentType,
      ...(flags.accept === undefined ? {} : { accept: flags.accept }),
      ...(flags.protocol === undefined ? {} : { protocol: flags.protocol }),
      ...(flags.timeout === undefined ? {} : { timeoutMs: Number(flags.timeout) * 1000 }),
    },
    select,
  );
  const text = Buffer.from(response.body).toString('utf8');
  if (ctx.json) {
    ctx.printJson({
      ok: response.status < 400,
      status: response.status,
      contentType: response.contentType,
      latencyMs: response.latencyMs,
      ...(response.servedBy === undefined ? {} : { servedBy: response.servedBy }),
      body: decode(response.body),
    });
  } else if (response.status >= 400) {
    ctx.err(ctx.style.red(`HTTP ${response.status}: ${text}`));
  } else {
    ctx.out(pretty(text, ctx));
  }
  if (response.status < 400) return 0;
  return response.status === 400 || response.status === 413 || response.status === 415 ? 2 : 1;
}

function contentTypeFor(file: string | undefined): string {
  switch (extname(file ?? '').toLowerCase()) {
    case '.csv':
      return 'text/csv';
    case '.jsonl':
      return 'application/jsonlines';
    default:
      return 'application/json';
  }
}

async function bufferedBody(flags: InvokeFlags): Promise<Uint8Array> {
  if (flags.data !== undefined) return Buffer.from(flags.data);
  if (flags.file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  if (flags.file !== undefined) return readBody(flags.file);
  throw new ModelportError('invalidInput', 'no request body', {
    hint: 'pass --data \'{"instances": [...]}\' or --file payload.json',
  });
}

async function readBody(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new ModelportError('invalidInput', `cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Async payloads may be up to 1 GB: stream them from the file instead of reading them into memory. */
async function streamedBody(
  flags: InvokeFlags,
): Promise<{ body: AsyncIterable<Uint8Array> | Uint8Array; sizeBytes?: number }> {
  if (flags.file !== undefined && flags.file !== '-') {
    const info = await stat(flags.file).catch(() => undefined);
    if (info === undefined)
      throw new ModelportError('invalidInput', `cannot read ${flags.file}: no such file`);
    return { body: createReadStream(flags.file, { highWaterMark: 1 << 20 }), sizeBytes: info.size };
  }
  if (flags.file === '-') return { body: process.stdin };
  return { body: await bufferedBody(flags) };
}

function decode(body: Uint8Array): unknown {
  const text = Buffer.from(body).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function pretty(text: string, ctx: CliContext): string {
  if (process.stdout.isTTY !== true || ctx.json) return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
