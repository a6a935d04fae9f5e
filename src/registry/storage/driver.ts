// A deliberately dumb filesystem driver: a handful of path operations relative to the root.
// All OCI logic (digests, verification, links) lives above it.
import { createReadStream, mkdirSync, openSync, closeSync, fsyncSync, renameSync, unlinkSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat, writeFile, rename, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';

export class FsDriver {
  readonly root: string;
  constructor(root: string) { this.root = root; }

  abs(path: string): string { return join(this.root, path); }

  async size(path: string): Promise<number | null> {
    try { return (await stat(this.abs(path))).size; } catch (e) { if (isMissing(e)) return null; throw e; }
  }

  /** Bytes [start, end] inclusive (or the whole file). */
  reader(path: string, start?: number, end?: number): Readable {
    return createReadStream(this.abs(path), { start, end });
  }

  async read(path: string): Promise<Buffer | null> {
    try { return await readFile(this.abs(path)); } catch (e) { if (isMissing(e)) return null; throw e; }
  }

  /** Appends a stream to a file; `onChunk` sees every chunk (hashing, size limits) before it is written. */
  async append(path: string, body: AsyncIterable<Buffer>, onChunk: (chunk: Buffer) => void): Promise<number> {
    await mkdir(dirname(this.abs(path)), { recursive: true });
    const fh = await open(this.abs(path), 'a');
    let written = 0;
    try {
      for await (const chunk of body) {
        onChunk(chunk);
        await fh.write(chunk);
        written += chunk.length;
      }
    } finally { await fh.close(); }
    return written;
  }

  /** Writes a small file atomically (temporary sibling + rename). */
  async writeAtomic(path: string, data: Buffer | string, mode = 0o644): Promise<void> {
    const target = this.abs(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${randomUUID()}.tmp`;
    await writeFile(tmp, data, { mode });
    await rename(tmp, target);
  }

  /** Durably moves a finished file into place. Synchronous so callers can run it inside a DB transaction. */
  moveIntoPlaceSync(from: string, to: string): void {
    const src = this.abs(from), dst = this.abs(to);
    const fd = openSync(src, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    mkdirSync(dirname(dst), { recursive: true });
    renameSync(src, dst);
  }

  deleteSync(path: string): void {
    try { unlinkSync(this.abs(path)); } catch (e) { if (!isMissing(e)) throw e; }
  }

  async delete(path: string): Promise<void> {
    await rm(this.abs(path), { force: true, recursive: true });
  }

  async list(dir: string): Promise<string[]> {
    try { return await readdir(this.abs(dir)); } catch (e) { if (isMissing(e)) return []; throw e; }
  }

  async mtime(path: string): Promise<number | null> {
    try { return (await stat(this.abs(path))).mtimeMs; } catch (e) { if (isMissing(e)) return null; throw e; }
  }

  ensureDirSync(dir: string): void { mkdirSync(this.abs(dir), { recursive: true }); }
  removeSync(path: string): void { rmSync(this.abs(path), { force: true, recursive: true }); }
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}
