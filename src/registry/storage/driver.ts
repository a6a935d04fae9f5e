// A deliberately dumb filesystem driver: a handful of path operations relative to the root.
// All OCI logic (digests, verification, links) lives above it.
import { createReadStream, mkdirSync, renameSync, unlinkSync, rmSync } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat, writeFile, rename, readFile, type FileHandle } from 'node:fs/promises';

// Registry state (blobs, uploads, keys, the database) is private to the registry's user: stored
// layers of private projects and key material must not be readable by other local users.
export const dirMode = 0o700;
export const fileMode = 0o600;
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

  /** An open file for reading, or null when it does not exist. */
  async open(path: string): Promise<FileHandle | null> {
    try { return await open(this.abs(path), 'r'); } catch (e) { if (isMissing(e)) return null; throw e; }
  }

  async read(path: string): Promise<Buffer | null> {
    try { return await readFile(this.abs(path)); } catch (e) { if (isMissing(e)) return null; throw e; }
  }

  /**
   * Appends a stream to a file; `onChunk` sees every chunk (hashing, size limits) before it is
   * written. Chunks arriving while a write is in flight are gathered and written together, so
   * the disk sees large writes and the socket keeps being read meanwhile.
   */
  async append(path: string, body: AsyncIterable<Buffer>, onChunk: (chunk: Buffer) => void): Promise<number> {
    await mkdir(dirname(this.abs(path)), { recursive: true, mode: dirMode });
    const fh = await open(this.abs(path), 'a', fileMode);
    let written = 0;
    let batch: Buffer[] = [], batched = 0;
    let writing: Promise<Error | null> | null = null;
    const flush = async () => {
      const failed = writing && (await writing);
      if (failed) throw failed;
      const chunks = batch, bytes = batched;
      batch = []; batched = 0;
      writing = bytes === 0 ? null : writeAll(fh, chunks, bytes).then(() => { written += bytes; return null; }, (e: Error) => e);
    };
    try {
      for await (const chunk of body) {
        onChunk(chunk);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= appendBatchBytes) await flush();
      }
      await flush(); // starts the last batch
      await flush(); // nothing left to start: waits for it to land
    } finally {
      if (writing) await writing;
      await fh.close();
    }
    return written;
  }

  /** Flushes a file's bytes to disk (before it is renamed into place, so the rename is durable). */
  async sync(path: string): Promise<void> {
    const fh = await open(this.abs(path), 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  }

  /** Writes a small file atomically (temporary sibling + rename). */
  async writeAtomic(path: string, data: Buffer | string, mode = fileMode): Promise<void> {
    const target = this.abs(path);
    await mkdir(dirname(target), { recursive: true, mode: dirMode });
    const tmp = `${target}.${randomUUID()}.tmp`;
    await writeFile(tmp, data, { mode });
    await rename(tmp, target);
  }

  /**
   * Creates a small file unless it exists, atomically: of several processes racing to create a
   * key, exactly one wins and all of them then read the winner's bytes.
   */
  async createOnce(path: string, data: Buffer | string, mode = fileMode): Promise<Buffer> {
    const target = this.abs(path);
    await mkdir(dirname(target), { recursive: true, mode: dirMode });
    const tmp = `${target}.${randomUUID()}.tmp`;
    await writeFile(tmp, data, { mode });
    try {
      await link(tmp, target); // fails with EEXIST instead of replacing, unlike rename
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code !== 'EEXIST') throw e;
    } finally {
      await rm(tmp, { force: true });
    }
    return readFile(target);
  }

  /**
   * Moves a finished file into place (durably when it was `sync`ed first). Synchronous so callers
   * can run it inside a DB transaction; the fsync is not in here because it would stall every
   * other request of the process for as long as the disk takes.
   */
  moveIntoPlaceSync(from: string, to: string): void {
    const src = this.abs(from), dst = this.abs(to);
    mkdirSync(dirname(dst), { recursive: true, mode: dirMode });
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

  ensureDirSync(dir: string): void { mkdirSync(this.abs(dir), { recursive: true, mode: dirMode }); }
  removeSync(path: string): void { rmSync(this.abs(path), { force: true, recursive: true }); }
}

const appendBatchBytes = 1024 * 1024;

/** fs writes to a regular file may in principle be short; loop until every byte is down. */
async function writeAll(fh: FileHandle, chunks: Buffer[], bytes: number): Promise<void> {
  let { bytesWritten } = await fh.writev(chunks);
  if (bytesWritten === bytes) return;
  const rest = Buffer.concat(chunks).subarray(bytesWritten);
  for (let off = 0; off < rest.length; off += bytesWritten) ({ bytesWritten } = await fh.write(rest, off));
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}
