import { open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const CHECKPOINT_FILE = '.modelport-batch.json';

/** Where one input file stands. Output lengths never exceed what was fsynced before this was written. */
export interface FileCheckpoint {
  /** Input bytes consumed (the next line starts here). */
  offset: number;
  /** Lines consumed (header and blank lines included). */
  line: number;
  /** Durable lengths of `<file>.out` and `<file>.errors.jsonl`. */
  outputBytes: number;
  errorBytes: number;
  rows: number;
  errors: number;
  /** Size of the input when the job started, to notice an input replaced under a resumed job. */
  inputBytes: number;
  done: boolean;
}

export interface BatchCheckpoint {
  version: 1;
  files: Record<string, FileCheckpoint>;
}

export async function readCheckpoint(outputDir: string): Promise<BatchCheckpoint | undefined> {
  const path = join(outputDir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as BatchCheckpoint;
  if (parsed?.version !== 1 || typeof parsed.files !== 'object') {
    throw new Error(`${path} is not a checkpoint this runtime understands; delete it to start over`);
  }
  return parsed;
}

/** Atomic and durable: write a temporary file, fsync it, rename it over the checkpoint, fsync the folder. */
export async function writeCheckpoint(outputDir: string, checkpoint: BatchCheckpoint): Promise<void> {
  const path = join(outputDir, CHECKPOINT_FILE);
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(JSON.stringify(checkpoint));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  await syncDirectory(dirname(path));
}

export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}
