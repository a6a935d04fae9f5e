// A file that one writer fills (a blob being downloaded) while readers follow it from the start,
// waiting at the end for more bytes until the writer closes. This lets a layer be unpacked while it
// is still arriving, without coupling the download to the unpacking: the network is read as fast
// as it comes (no backpressure that a registry's stall timer could mistake for silence), and the
// file is the blob kept for pushes, so nothing is read from the registry twice.

import { EventEmitter } from 'node:events';
import { close, closeSync, open, read, write } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';

const READ_CHUNK = 256 * 1024;

export class GrowingFile {
  readonly path: string;
  /** Open for writing until the writer finishes or the file fails. */
  private fd: number | undefined;
  /** Bytes written so far; readers may read up to here. */
  private written = 0;
  private closed = false;
  private failure: Error | undefined;
  /** A write(2) in flight: closing the descriptor waits for it (the number could be reused meanwhile). */
  private writing = false;
  private closeWanted = false;
  private readonly changes = new EventEmitter();

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
    this.changes.setMaxListeners(0);
  }

  /** Creates the file (refusing an existing one), so readers can open it before any byte arrives. */
  static create(path: string): Promise<GrowingFile> {
    return new Promise((resolve, reject) => open(path, 'wx', 0o600, (error, fd) => (error ? reject(error) : resolve(new GrowingFile(path, fd)))));
  }

  /** The writing side, used once: appends what it is given; ending it completes the file. */
  writer(): Writable {
    return new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, done) => {
        const writeAll = (offset: number) => {
          if (this.fd === undefined || this.closeWanted) return done(this.failure ?? new Error(`${this.path} is no longer open for writing`));
          this.writing = true;
          write(this.fd, chunk, offset, chunk.length - offset, null, (error, n) => {
            this.writing = false;
            if (this.closeWanted) this.closeFd();
            if (error) return done(error);
            if (this.failure) return done(this.failure);
            this.written += n;
            if (offset + n < chunk.length) return writeAll(offset + n);
            this.changes.emit('change');
            done();
          });
        };
        writeAll(0);
      },
      final: (done) => {
        this.closeFd();
        this.closed = true;
        this.changes.emit('change');
        done();
      },
      destroy: (error, done) => {
        if (!this.closed) this.fail(error ?? new Error(`writing ${this.path} was abandoned`));
        done(error);
      },
    });
  }

  /** Makes every reader fail, e.g. when the download turned out to be wrong. */
  fail(error: Error): void {
    this.closeFd();
    this.failure ??= error;
    this.changes.emit('change');
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    if (this.writing) {
      this.closeWanted = true;
      return;
    }
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** The first `bytes` bytes (fewer if the file ends sooner), once they are written. */
  async head(bytes: number): Promise<Buffer> {
    while (this.written < bytes && !this.closed && !this.failure) await new Promise<void>((resolve) => this.onChange(resolve));
    if (this.failure) throw this.failure;
    const handle = await openFile(this.path, 'r');
    try {
      const buffer = Buffer.alloc(bytes);
      const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /** A stream of the whole file, from byte 0 to whatever the writer ends with. */
  reader(): Readable {
    return new FollowingReader(this);
  }

  /** Calls `then` once the file has grown, closed or failed. */
  onChange(then: () => void): void {
    this.changes.once('change', then);
  }

  get state(): { written: number; closed: boolean; failure: Error | undefined } {
    return { written: this.written, closed: this.closed, failure: this.failure };
  }
}

class FollowingReader extends Readable {
  private readonly file: GrowingFile;
  private fd: number | undefined;
  private position = 0;
  /** A read(2) in flight: closing the descriptor waits for it. */
  private pending: (() => void) | undefined;

  constructor(file: GrowingFile) {
    super({ highWaterMark: READ_CHUNK });
    this.file = file;
  }

  override _construct(done: (error?: Error | null) => void): void {
    open(this.file.path, 'r', (error, fd) => {
      this.fd = fd;
      done(error);
    });
  }

  override _read(): void {
    if (this.destroyed) return;
    const { written, closed, failure } = this.file.state;
    if (failure) return void this.destroy(failure);
    const available = written - this.position;
    if (available <= 0) {
      if (closed) return void this.push(null);
      return this.file.onChange(() => this._read());
    }
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, available));
    this.pending = () => {};
    read(this.fd!, buffer, 0, buffer.length, this.position, (error, n) => {
      const after = this.pending;
      this.pending = undefined;
      after?.();
      if (this.destroyed) return;
      if (error) return void this.destroy(error);
      if (n === 0) return void this.destroy(new Error(`${this.file.path} is shorter than the bytes written to it`));
      this.position += n;
      this.push(n === buffer.length ? buffer : buffer.subarray(0, n));
    });
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const closeNow = () => (this.fd === undefined ? done(error) : close(this.fd, () => done(error)));
    if (this.pending) this.pending = closeNow;
    else closeNow();
  }
}
