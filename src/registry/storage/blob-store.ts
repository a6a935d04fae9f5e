// Content-addressed blobs and upload sessions on top of the dumb driver.
import type { FileHandle } from 'node:fs/promises';
import { randomUUID, type Hash } from 'node:crypto';
import type { FsDriver } from './driver.ts';
import { blobPath, blobsDir, uploadPath, uploadsDir } from './paths.ts';
import { hasherFor, parseDigest } from '../distribution/digest.ts';
import { digestInvalid, sizeInvalid } from '../http/errors.ts';

export class BlobStore {
  private readonly driver: FsDriver;
  constructor(driver: FsDriver) { this.driver = driver; }

  /** The blob's file, open for reading (null when it is not on disk, e.g. just collected). */
  open(digest: string): Promise<FileHandle | null> { return this.driver.open(blobPath(digest)); }
  read(digest: string): Promise<Buffer | null> { return this.driver.read(blobPath(digest)); }
  fileTime(digest: string): Promise<number | null> { return this.driver.mtime(blobPath(digest)); }
  /** Moves a finished temporary file, `persist`ed first, into the blob's place (synchronous: runs inside a DB transaction). */
  placeSync(tempPath: string, digest: string): void { this.driver.moveIntoPlaceSync(tempPath, blobPath(digest)); }
  removeSync(digest: string): void { this.driver.deleteSync(blobPath(digest)); }

  /** Every digest with a file on disk. */
  async listDigests(): Promise<string[]> {
    const out: string[] = [];
    for (const algorithm of await this.driver.list(blobsDir)) {
      for (const prefix of await this.driver.list(`${blobsDir}/${algorithm}`)) {
        for (const encoded of await this.driver.list(`${blobsDir}/${algorithm}/${prefix}`)) {
          if (!encoded.includes('.')) out.push(`${algorithm}:${encoded}`);
        }
      }
    }
    return out;
  }
}

interface HashState { algorithm: string; hasher: Hash; offset: number }

/** Upload sessions: bytes accumulate in uploads/<id> and are hashed as they arrive. */
export class UploadArea {
  private readonly driver: FsDriver;
  // Incremental hash per session while this process saw every byte; another process (or a
  // restart) falls back to re-reading the file when the session completes.
  private readonly hashes = new Map<string, HashState>();
  constructor(driver: FsDriver) { this.driver = driver; }

  async create(algorithm = 'sha256'): Promise<string> {
    const id = randomUUID();
    await this.driver.writeAtomic(uploadPath(id), Buffer.alloc(0));
    this.hashes.set(id, { algorithm, hasher: hasherFor(algorithm), offset: 0 });
    return id;
  }

  tempPath(id: string): string { return uploadPath(id); }
  size(id: string): Promise<number | null> { return this.driver.size(uploadPath(id)); }

  /** Appends a request body; refuses to grow the upload beyond `maxSize` bytes. */
  async append(id: string, body: AsyncIterable<Buffer>, maxSize: number): Promise<number> {
    let total = (await this.size(id)) ?? 0;
    const state = this.hashes.get(id);
    const hashing = state && state.offset === total ? state : undefined;
    if (!hashing) this.hashes.delete(id);
    await this.driver.append(uploadPath(id), body, (chunk) => {
      total += chunk.length;
      if (total > maxSize) throw sizeInvalid(`upload exceeds the maximum blob size of ${maxSize} bytes`, 413);
      hashing?.hasher.update(chunk);
      if (hashing) hashing.offset += chunk.length;
    });
    return total;
  }

  /** Checks the finished upload against the client's digest; returns its size. */
  async verify(id: string, expected: string): Promise<number> {
    const { algorithm, encoded } = parseDigest(expected);
    const size = (await this.size(id)) ?? 0;
    const state = this.hashes.get(id);
    let actual: string;
    if (state && state.offset === size && state.algorithm === algorithm) {
      actual = state.hasher.copy().digest('hex');
    } else {
      const h = hasherFor(algorithm);
      for await (const chunk of this.driver.reader(uploadPath(id))) h.update(chunk as Buffer);
      actual = h.digest('hex');
    }
    if (actual !== encoded) throw digestInvalid(`expected ${expected}, got ${algorithm}:${actual}`);
    return size;
  }

  /** Flushes an upload to disk; done before it is placed, outside the transaction that places it. */
  persist(id: string): Promise<void> { return this.driver.sync(uploadPath(id)); }

  async writeWhole(data: Buffer): Promise<string> {
    const id = randomUUID();
    await this.driver.writeAtomic(uploadPath(id), data);
    return id;
  }

  async remove(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.driver.delete(uploadPath(id));
  }

  async list(): Promise<{ id: string; mtime: number }[]> {
    const out: { id: string; mtime: number }[] = [];
    for (const id of await this.driver.list(uploadsDir)) {
      const mtime = await this.driver.mtime(uploadPath(id));
      if (mtime !== null) out.push({ id, mtime });
    }
    return out;
  }
}
