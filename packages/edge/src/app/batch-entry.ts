// `run batch` (or MODELPORT_MODE=batch): the run-to-completion mode of the serving image, for AWS Batch,
// Kubernetes (Indexed) Jobs and any scheduler that runs a container until it exits. Every input file goes
// through the runtime's resumable file runner; the job exits 0 when no more records failed than allowed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';

import {
  BatchErrorThresholdError,
  CHECKPOINT_FILE,
  createJsonLogger,
  OnnxModel,
  runBatchFiles,
  type BatchCheckpoint,
  type BatchModel,
  type LoadOptions,
  type Logger,
  type ModelSignature,
} from '@modelport/runtime';

import type { BundleManifest } from './bundle-format.js';
import { loadS3Module, resolveModel, type ModelChoice } from './model-source.js';
import type { BatchOptions, RunOptions } from './run-options.js';
import type * as S3Module from './s3-storage.js';

export const EXIT_BATCH_OK = 0;
export const EXIT_BATCH_FAILED = 1;

/** Folder (or key prefix) of the output that holds the done markers (and, for local outputs, the work). */
export const BATCH_STATE_DIR = '.modelport';
const FORMAT_OF: Readonly<Record<string, 'jsonl' | 'csv'>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
};

/** What <output>/.modelport/<file>.done.json says: this input, with this content, is done. */
export interface DoneMarker {
  version: 1;
  input: { name: string; id: string; sha256: string; bytes: number };
  records: number;
  failed: number;
  outputBytes: number;
  errorBytes: number;
}

export interface BatchJobContext {
  bundleDir: string;
  manifest: BundleManifest;
  options: RunOptions;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  loadS3?: () => Promise<typeof S3Module>;
  signal?: AbortSignal;
  /** Local work folders for S3 inputs and outputs; default the OS temp folder. */
  tmpDir?: string;
}

export interface BatchJobResult {
  code: number;
  files: number;
  skipped: number;
  records: number;
  failed: number;
}

interface InputRef {
  /** Name of the file: the output is <name>.out. */
  name: string;
  format: 'jsonl' | 'csv';
  /** Local path, or the S3 object. */
  local?: string;
  s3?: S3Module.S3Location & { size: number; etag: string };
}

interface StagedFile {
  /** The staged input, named so the file runner reads it in the chosen format. */
  input: string;
  /** The file runner's output folder. */
  out: string;
}

const isS3 = (location: string) => location.startsWith('s3://');

function formatOf(name: string, forced: 'jsonl' | 'csv' | undefined): 'jsonl' | 'csv' | undefined {
  if (name.startsWith('.') || name.endsWith('.errors.jsonl') || name.endsWith('.partial')) return undefined;
  return forced ?? FORMAT_OF[extname(name).toLowerCase()];
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function writeFileAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** The input files, sorted by name; a folder or prefix gives its top-level files only. */
async function listInputs(
  input: string,
  forced: BatchOptions['format'],
  s3: () => Promise<S3Module.S3Store>,
): Promise<InputRef[]> {
  const refs: InputRef[] = [];
  if (isS3(input)) {
    const store = await s3();
    const location = splitS3(input);
    let prefix = location.key;
    if (prefix !== '' && !prefix.endsWith('/')) {
      const object = await store.head(location);
      if (object !== undefined) {
        const name = basename(prefix);
        return [
          {
            name,
            format: forced ?? FORMAT_OF[extname(name).toLowerCase()] ?? 'jsonl',
            s3: { ...location, size: object.size, etag: object.etag },
          },
        ];
      }
      prefix = `${prefix}/`;
    }
    for (const object of await store.list(location.bucket, prefix, '/')) {
      const name = object.key.slice(prefix.length);
      // Top-level objects only (the Delimiter says so; not every S3-compatible store honours it).
      const format = name === '' || name.includes('/') ? undefined : formatOf(name, forced);
      if (format === undefined) continue;
      refs.push({
        name,
        format,
        s3: { bucket: location.bucket, key: object.key, size: object.size, etag: object.etag },
      });
    }
  } else {
    const info = await stat(input).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `batch input ${input}: ${error.code === 'ENOENT' ? 'no such file or folder' : error.message}`,
      );
    });
    if (info.isFile()) {
      const name = basename(input);
      return [
        { name, format: forced ?? FORMAT_OF[extname(name).toLowerCase()] ?? 'jsonl', local: resolve(input) },
      ];
    }
    for (const entry of await readdir(input, { withFileTypes: true })) {
      const format = formatOf(entry.name, forced);
      if (format === undefined) continue;
      const path = resolve(input, entry.name);
      if (!entry.isFile() && !(entry.isSymbolicLink() && (await stat(path)).isFile())) continue;
      refs.push({ name: entry.name, format, local: path });
    }
  }
  return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function splitS3(uri: string): S3Module.S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) throw new Error(`${uri}: expected s3://<bucket>/<key or prefix>`);
  return { bucket: match[1] as string, key: match[2] as string };
}

/** Where the outputs of a job go: a local folder or an S3 prefix. */
interface OutputSide {
  readonly location: string;
  uri(name: string): string;
  readMarker(name: string): Promise<DoneMarker | undefined>;
  outputBytes(name: string): Promise<number | undefined>;
  /** A work folder for this input, kept across attempts when it can be (local outputs). */
  stage(name: string, id: string): Promise<string>;
  publish(name: string, staged: StagedFile, marker: DoneMarker): Promise<void>;
  /** Makes the bad records seen so far visible (a job stopped by --max-failed). */
  publishErrors(name: string, staged: StagedFile): Promise<void>;
}

function stagedPaths(stageDir: string, format: 'jsonl' | 'csv'): StagedFile {
  return { input: join(stageDir, `input.${format}`), out: join(stageDir, 'out') };
}

const stagedOut = (s: StagedFile) => join(s.out, `${basename(s.input)}.out`);
const stagedErrors = (s: StagedFile) => join(s.out, `${basename(s.input)}.errors.jsonl`);

class LocalOutput implements OutputSide {
  constructor(readonly location: string) {}

  private get stateDir(): string {
    return join(this.location, BATCH_STATE_DIR);
  }

  uri(name: string): string {
    return join(this.location, `${name}.out`);
  }

  readMarker(name: string): Promise<DoneMarker | undefined> {
    return readJson<DoneMarker>(join(this.stateDir, `${name}.done.json`));
  }

  async outputBytes(name: string): Promise<number | undefined> {
    return stat(this.uri(name)).then(
      (s) => s.size,
      () => undefined,
    );
  }

  async stage(name: string, id: string): Promise<string> {
    const dir = join(this.stateDir, `${name}.work`);
    const idFile = join(dir, 'input.id');
    const previous = await readFile(idFile, 'utf8').catch(() => undefined);
    if (previous !== id) {
      // Another input (or none) was being worked on under this name: start over.
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(idFile, id);
    }
    return dir;
  }

  async publish(name: string, staged: StagedFile, marker: DoneMarker): Promise<void> {
    const out = this.uri(name);
    const errors = join(this.location, `${name}.errors.jsonl`);
    // Renames in the same folder tree; a retry after a crash here finds the files already moved.
    if (marker.errorBytes > 0) {
      if (await exists(stagedErrors(staged))) await rename(stagedErrors(staged), errors);
    } else {
      await rm(errors, { force: true });
    }
    if (await exists(stagedOut(staged))) await rename(stagedOut(staged), out);
    await writeFileAtomic(join(this.stateDir, `${name}.done.json`), `${JSON.stringify(marker)}\n`);
    await rm(join(this.stateDir, `${name}.work`), { recursive: true, force: true });
  }

  async publishErrors(name: string, staged: StagedFile): Promise<void> {
    if (await exists(stagedErrors(staged))) {
      await copyFile(stagedErrors(staged), join(this.location, `${name}.errors.jsonl`));
    }
  }
}

class S3Output implements OutputSide {
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    readonly location: string,
    private readonly store: S3Module.S3Store,
    private readonly workDir: string,
  ) {
    const { bucket, key } = splitS3(location);
    this.bucket = bucket;
    this.prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  }

  private at(key: string): S3Module.S3Location {
    return { bucket: this.bucket, key: `${this.prefix}${key}` };
  }

  uri(name: string): string {
    return `s3://${this.bucket}/${this.prefix}${name}.out`;
  }

  async readMarker(name: string): Promise<DoneMarker | undefined> {
    const text = await this.store.getText(this.at(`${BATCH_STATE_DIR}/${name}.done.json`));
    return text === undefined ? undefined : (JSON.parse(text) as DoneMarker);
  }

  async outputBytes(name: string): Promise<number | undefined> {
    return (await this.store.head(this.at(`${name}.out`)))?.size;
  }

  /** A fresh local folder: a new container starts with nothing, so an attempt redoes unfinished files. */
  async stage(): Promise<string> {
    return mkdtemp(join(this.workDir, 'file-'));
  }

  async publish(name: string, staged: StagedFile, marker: DoneMarker): Promise<void> {
    const errors = this.at(`${name}.errors.jsonl`);
    if (marker.errorBytes > 0) await this.store.upload(stagedErrors(staged), errors, 'application/jsonl');
    else await this.store.delete(errors);
    await this.store.upload(stagedOut(staged), this.at(`${name}.out`), 'application/jsonl');
    // Last: the marker says the outputs above are complete.
    await this.store.putText(
      this.at(`${BATCH_STATE_DIR}/${name}.done.json`),
      `${JSON.stringify(marker)}\n`,
      'application/json',
    );
    await rm(join(staged.out, '..'), { recursive: true, force: true });
  }

  async publishErrors(name: string, staged: StagedFile): Promise<void> {
    if (await exists(stagedErrors(staged))) {
      await this.store.upload(stagedErrors(staged), this.at(`${name}.errors.jsonl`), 'application/jsonl');
    }
  }
}

async function loadModel(context: BatchJobContext): Promise<{ model: OnnxModel; choice: ModelChoice }> {
  const { options, manifest, bundleDir, env } = context;
  const choice = await resolveModel(options, {
    bundleDir,
    manifest,
    env,
    loadS3: context.loadS3 ?? loadS3Module,
    ...(context.tmpDir === undefined ? {} : { tmpDir: context.tmpDir }),
  });
  context.logger.info('model source', {
    source: choice.source,
    path: choice.path,
    ...(choice.from === undefined ? {} : { from: choice.from }),
    ...(choice.signaturePath === undefined ? {} : { signature: choice.signaturePath }),
  });
  const load: LoadOptions = { name: options.name ?? manifest.serve.name };
  if (choice.signature !== undefined) load.signature = choice.signature as ModelSignature;
  try {
    return { model: await OnnxModel.load(choice.path, load), choice };
  } catch (error) {
    if (choice.downloadDir !== undefined) await rm(choice.downloadDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Runs the batch job of `context.options.batch` and returns its exit code. Throws (exit 1 by run.mjs) when
 * the model cannot be loaded or an input or output cannot be read or written.
 */
export async function runBatchJob(context: BatchJobContext): Promise<BatchJobResult> {
  const { options, logger } = context;
  const job = options.batch;
  if (job === undefined) throw new Error('runBatchJob needs batch options');
  let store: S3Module.S3Store | undefined;
  const s3 = async (): Promise<S3Module.S3Store> => {
    if (store === undefined) {
      const module = await (context.loadS3 ?? loadS3Module)();
      store = new module.S3Store(context.env);
    }
    return store;
  };
  let workDir: string | undefined;
  const work = async () => (workDir ??= await mkdtemp(join(context.tmpDir ?? tmpdir(), 'modelport-batch-')));
  const { model, choice } = await loadModel(context);
  try {
    const all = await listInputs(job.input, job.format, s3);
    const mine =
      job.shard === undefined
        ? all
        : all.filter((_, i) => i % (job.shard as { count: number }).count === job.shard?.index);
    const output: OutputSide = isS3(job.output)
      ? new S3Output(job.output, await s3(), await work())
      : new LocalOutput(resolve(job.output));
    if (!isS3(job.output)) await mkdir(join(resolve(job.output), BATCH_STATE_DIR), { recursive: true });
    logger.info('batch start', {
      input: job.input,
      output: job.output,
      inputs: all.length,
      files: mine.length,
      ...(job.shard === undefined ? {} : { shard: job.shard }),
      maxFailed: job.maxFailed,
    });
    if (all.length === 0) logger.warn('batch input has no files', { input: job.input });

    const result: BatchJobResult = {
      code: EXIT_BATCH_OK,
      files: mine.length,
      skipped: 0,
      records: 0,
      failed: 0,
    };
    for (const ref of mine) {
      context.signal?.throwIfAborted();
      const finished = await runOne(ref, {
        job,
        output,
        model,
        logger,
        s3,
        work,
        result,
        signal: context.signal,
      });
      if (!finished || result.failed > job.maxFailed) {
        result.code = EXIT_BATCH_FAILED;
        break;
      }
    }
    logger.info('batch done', {
      files: result.files,
      skipped: result.skipped,
      records: result.records,
      failed: result.failed,
      maxFailed: job.maxFailed,
      ok: result.code === EXIT_BATCH_OK,
    });
    return result;
  } finally {
    await model.close();
    store?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    if (choice.downloadDir !== undefined) await rm(choice.downloadDir, { recursive: true, force: true });
  }
}

interface RunOneContext {
  job: BatchOptions;
  output: OutputSide;
  model: BatchModel;
  logger: Logger;
  s3: () => Promise<S3Module.S3Store>;
  work: () => Promise<string>;
  result: BatchJobResult;
  signal: AbortSignal | undefined;
}

/** One input file: skipped when done, else run and published. False when --max-failed stopped it. */
async function runOne(ref: InputRef, ctx: RunOneContext): Promise<boolean> {
  const { job, output, logger, result } = ctx;
  // What binds a done marker to the input's content: its SHA-256 here, its ETag (and size) on S3, which
  // can be compared without downloading it.
  // The format is part of it: the same file read as CSV instead of JSON Lines is other work.
  const localHash = ref.local === undefined ? undefined : await sha256File(ref.local);
  const id =
    localHash !== undefined
      ? `${ref.format}:sha256:${localHash}`
      : `${ref.format}:etag:${ref.s3?.etag ?? ''}:${ref.s3?.size ?? 0}`;
  const marker = await output.readMarker(ref.name);
  if (marker?.input.id === id && (await output.outputBytes(ref.name)) === marker.outputBytes) {
    result.skipped++;
    result.records += marker.records;
    result.failed += marker.failed;
    logger.info('batch file', {
      file: ref.name,
      skipped: 'done before',
      records: marker.records,
      failed: marker.failed,
      output: output.uri(ref.name),
    });
    return true;
  }

  const stageDir = await output.stage(ref.name, id);
  const staged = stagedPaths(stageDir, ref.format);
  if (!(await exists(staged.input))) {
    if (ref.local !== undefined) {
      await symlink(ref.local, staged.input).catch(() => copyFile(ref.local as string, staged.input));
    } else if (ref.s3 !== undefined) {
      await (await ctx.s3()).download(ref.s3, staged.input);
    }
  }
  const sha256 = localHash ?? (await sha256File(staged.input));
  const allowance = job.maxFailed - result.failed;
  let stopped = false;
  try {
    await runBatchFiles({
      model: ctx.model,
      input: staged.input,
      output: staged.out,
      ...(job.batchSize === undefined ? {} : { batchSize: job.batchSize }),
      errorThreshold: allowance + 1,
      ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    });
  } catch (error) {
    if (!(error instanceof BatchErrorThresholdError)) throw error;
    stopped = true;
  }
  const checkpoint = await readJson<BatchCheckpoint>(join(staged.out, CHECKPOINT_FILE));
  const state = checkpoint?.files[basename(staged.input)];
  const records = (state?.rows ?? 0) + (state?.errors ?? 0);
  const failed = state?.errors ?? 0;
  result.records += records;
  result.failed += failed;
  if (stopped) {
    await output.publishErrors(ref.name, staged);
    logger.error('batch file failed', {
      file: ref.name,
      reason: `more than ${job.maxFailed} bad record${job.maxFailed === 1 ? '' : 's'} (--max-failed)`,
      records,
      failed,
      errors: output.uri(ref.name).replace(/\.out$/, '.errors.jsonl'),
    });
    return false;
  }
  const done: DoneMarker = {
    version: 1,
    input: { name: ref.name, id, sha256, bytes: (await stat(staged.input)).size },
    records,
    failed,
    outputBytes: state?.outputBytes ?? 0,
    errorBytes: state?.errorBytes ?? 0,
  };
  await output.publish(ref.name, staged, done);
  logger.info('batch file', {
    file: ref.name,
    records,
    failed,
    output: output.uri(ref.name),
    ...(failed > 0 ? { errors: output.uri(ref.name).replace(/\.out$/, '.errors.jsonl') } : {}),
  });
  return true;
}

/** The batch mode of a bundle (run.mjs calls it for `run batch` / MODELPORT_MODE=batch). */
export async function batch(context: {
  bundleDir: string;
  manifest: BundleManifest;
  options: RunOptions;
}): Promise<number> {
  const { manifest, options } = context;
  const logger = createJsonLogger({ level: options.logLevel, base: { bundle: manifest.name } });
  // AWS Batch and Kubernetes stop a job with SIGTERM: finish the current micro-batch, checkpoint, exit 1.
  const abort = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    logger.warn('batch interrupted', { signal });
    abort.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const result = await runBatchJob({ ...context, logger, env: process.env, signal: abort.signal });
    return result.code;
  } catch (error) {
    if (abort.signal.aborted) return EXIT_BATCH_FAILED;
    logger.error('batch failed', { reason: error instanceof Error ? error.message : String(error) });
    return EXIT_BATCH_FAILED;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
