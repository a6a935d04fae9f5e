// Detach keys: a key sequence on an attached stdin (ctrl-p ctrl-q unless the client names another,
// e.g. `--detach-keys` or the CLI config's `detachKeys`) that ends the attachment and leaves the
// process running. The sequence is held back while it may still be forming; if it turns out not to be
// the sequence, the held bytes go on to the process unchanged.
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { invalid } from '../../portlayer/errors.ts';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** "ctrl-p,ctrl-q" → the bytes 0x10 0x11. Letters, ctrl-@ … ctrl-_ and single printable characters. */
export function parseDetachKeys(spec: string): Buffer {
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    const ctrl = /^ctrl-(.)$/.exec(key);
    if (ctrl) {
      const code = ctrl[1].toLowerCase().charCodeAt(0);
      if (code >= 0x61 && code <= 0x7a) bytes.push(code - 0x60); // ctrl-a … ctrl-z
      else if ('@[\\]^_'.includes(ctrl[1])) bytes.push(ctrl[1].charCodeAt(0) - 0x40);
      else throw invalid(`Invalid detach keys (${spec}) provided: unknown character '${key}'`);
    } else if (key.length === 1 && key.charCodeAt(0) >= 0x20 && key.charCodeAt(0) < 0x7f) {
      bytes.push(key.charCodeAt(0));
    } else {
      throw invalid(`Invalid detach keys (${spec}) provided: unknown character '${key}'`);
    }
  }
  return Buffer.from(bytes);
}

/** The detach keys a request asks for: its own, or the default. */
export function requestedDetachKeys(spec: string | null | undefined): Buffer {
  return parseDetachKeys(spec || DEFAULT_DETACH_KEYS);
}

/**
 * Passes stdin bytes through, except a complete detach sequence: on it, `onDetach` runs and the
 * stream ends (bytes after it are dropped, as dockerd drops them).
 */
export class DetachKeyFilter extends Transform {
  private readonly keys: Buffer;
  private readonly onDetach: () => void;
  /** How many bytes of the sequence the stream ended on: held back, not yet sent. */
  private matched = 0;
  private detached = false;

  constructor(keys: Buffer, onDetach: () => void) {
    super();
    this.keys = keys;
    this.onDetach = onDetach;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.detached || this.keys.length === 0) return done(null, this.detached ? undefined : chunk);
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.detached = true;
          if (out.length) this.push(Buffer.from(out));
          this.push(null);
          this.onDetach();
          return done();
        }
        continue;
      }
      // Not the sequence after all: what was held back is ordinary input (the byte may start a new try).
      out.push(...this.keys.subarray(0, this.matched));
      this.matched = byte === this.keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    done(null, out.length ? Buffer.from(out) : undefined);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.matched && !this.detached ? this.keys.subarray(0, this.matched) : undefined);
  }
}

/**
 * Forwards a client's input to a process: each chunk to `write`, and `ended` once the client's input
 * ends — unless it ended by detaching, which leaves the process's stdin open. The returned signal
 * aborts on the detach keys.
 */
export function forwardInput(input: Readable, keys: Buffer, process: { write(chunk: Buffer): void; ended(): void }): AbortSignal {
  const detached = new AbortController();
  const filtered = input.pipe(new DetachKeyFilter(keys, () => detached.abort()));
  filtered.on('data', (chunk: Buffer) => process.write(chunk));
  filtered.on('end', () => { if (!detached.signal.aborted) process.ended(); });
  return detached.signal;
}
