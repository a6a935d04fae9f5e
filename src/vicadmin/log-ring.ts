// The engine's own recent log output, kept in memory: the admin page shows it live even when the
// engine's stderr is a pipe or a terminal rather than <datastore>/engine.log.
import { StringDecoder } from 'node:string_decoder';

export type LogListener = (text: string) => void;

export class LogRing {
  private readonly limitBytes: number;
  private chunks: string[] = [];
  private bytes = 0;
  private readonly listeners = new Set<LogListener>();

  constructor(limitBytes = 1024 * 1024) {
    this.limitBytes = limitBytes;
  }

  append(text: string): void {
    if (!text) return;
    this.chunks.push(text);
    this.bytes += Buffer.byteLength(text);
    // Oldest output goes first, whole chunks at a time (a chunk is one write, usually one line).
    while (this.bytes > this.limitBytes && this.chunks.length > 1) this.bytes -= Buffer.byteLength(this.chunks.shift()!);
    for (const listener of this.listeners) listener(text);
  }

  /** Everything kept so far. */
  text(): string {
    return this.chunks.join('');
  }

  /** Calls `listener` with each later append; returns the unsubscribe function. */
  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }
}

/**
 * Copies whatever this process writes to stderr into `ring` as well (the engine logs with
 * console.error everywhere). Returns a function that undoes it.
 */
export function teeStderr(ring: LogRing): () => void {
  const stderr = process.stderr;
  const original = stderr.write;
  const decoder = new StringDecoder('utf8');
  const tee = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    try {
      if (typeof chunk === 'string') ring.append(chunk);
      else if (chunk instanceof Uint8Array) ring.append(decoder.write(Buffer.from(chunk)));
    } catch {
      // the log copy never gets in the way of the log itself
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  };
  stderr.write = tee as typeof stderr.write;
  return () => { stderr.write = original; };
}
