import { createHash, randomBytes, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';

/**
 * Writes a file sequentially while hashing what it writes, under a temporary name that becomes the real
 * one only on `commit()`: an interrupted build never leaves a truncated archive behind under its name.
 */
export class HashingFileWriter {
  private readonly hash: Hash = createHash('sha256');
  private written = 0;
  private readonly temp: string;

  private constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    temp: string,
  ) {
    this.temp = temp;
  }

  static async create(path: string): Promise<HashingFileWriter> {
    const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
    return new HashingFileWriter(await open(temp, 'w'), path, temp);
  }

  get bytes(): number {
    return this.written;
  }

  async write(...chunks: Uint8Array[]): Promise<void> {
    const nonEmpty = chunks.filter((c) => c.length > 0);
    if (nonEmpty.length === 0) return;
    for (const chunk of nonEmpty) {
      this.hash.update(chunk);
      this.written += chunk.length;
    }
    await this.handle.writev(nonEmpty);
  }

  /** Flushes, renames into place; returns the SHA-256 (hex) and size of what was written. */
  async commit(): Promise<{ sha256: string; bytes: number }> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temp, this.path);
    return { sha256: this.hash.digest('hex'), bytes: this.written };
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}
