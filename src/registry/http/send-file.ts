// Copies a byte range of an open file into a response. This is the pull path's hot loop: a
// stream pipeline allocates a fresh 64 KiB buffer per chunk, and on a busy registry the
// garbage collector and the per-chunk overhead cost about half of the CPU a blob GET uses.
// Here a few large buffers are reused: one is being read from disk while the other is being
// written to the socket, and a buffer returns to the pool only once the socket has taken it
// (the write callback), which is also the backpressure.
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

const chunkSize = 512 * 1024;
const maxPooled = 16; // 8 MiB kept at most between requests
const pool: Buffer[] = [];

const take = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(chunkSize);
const give = (b: Buffer) => { if (pool.length < maxPooled) pool.push(b); };

/**
 * Writes bytes [start, end] (inclusive) of `file` to `out`; does not end `out`. Returns false when
 * the client went away before taking them all: an everyday event on a pull path (a cancelled
 * `docker pull`), not an error of ours.
 */
export async function sendFileRange(file: FileHandle, start: number, end: number, out: Writable): Promise<boolean> {
  const buffers = [take(), take()];
  let writing: Promise<boolean> | null = null;
  let position = start, turn = 0;
  while (position <= end) {
    const buffer = buffers[turn++ & 1];
    const { bytesRead } = await file.read(buffer, 0, Math.min(chunkSize, end - position + 1), position);
    if (bytesRead === 0) throw new Error(`file ended at ${position}, before ${end + 1}`);
    position += bytesRead;
    if (writing && !(await writing)) return false; // the other buffer is free again once the socket took it
    writing = write(out, buffer.subarray(0, bytesRead));
  }
  if (writing && !(await writing)) return false;
  // Only now is neither buffer referenced by a socket. After a hang-up they are left to the
  // collector instead: a write cut off by a closed connection may still point into one.
  buffers.forEach(give);
  return true;
}

/** Resolves true once the socket took `chunk`, false if the connection closed first. */
function write(out: Writable, chunk: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (out.destroyed) { resolve(false); return; }
    // A connection that dies may never call back; its 'close' settles the wait instead.
    const onClose = () => resolve(false);
    out.once('close', onClose);
    out.write(chunk, (err) => {
      out.off('close', onClose);
      resolve(!err);
    });
  });
}
