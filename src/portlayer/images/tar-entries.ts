// Walks a tar stream one entry at a time with an async handler, using node-tar's parser.
// The parser emits the next entry only once the current one has ended, so handlers run strictly
// in archive order; body bytes are held back (backpressure) until the handler reads them.

import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { invalidParameter } from './errors.ts';

/** Handlers must consume the entry's body (pipe or resume it). */
export type TarEntryHandler = (entry: ReadEntry) => Promise<void>;

export async function forEachTarEntry(input: Readable, what: string, handle: TarEntryHandler): Promise<void> {
  const parser = new Parser({ strict: true });
  let failure: unknown;
  let handled: Promise<void> = Promise.resolve();
  let current: ReadEntry | undefined;
  parser.on('entry', (entry: ReadEntry) => {
    current = entry;
    handled = handled.then(async () => {
      if (failure !== undefined) return void entry.resume();
      try {
        await handle(entry);
      } catch (error) {
        failure ??= error;
        entry.resume();
      }
    });
  });
  // A tar of nothing but end-of-archive blocks (Docker's empty layer) is valid, though node-tar calls it unrecognised.
  let onlyZeros = true;
  const parsed = new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.on('error', (error: Error) => {
      if (onlyZeros && (error as { tarCode?: string }).tarCode === 'TAR_BAD_ARCHIVE' && /Unrecognized archive format/.test(error.message)) {
        return resolve();
      }
      failure ??= invalidParameter(`${what} is not a valid tar archive: ${error.message}`, error);
      resolve();
    });
  });

  try {
    for await (const chunk of input) {
      if (failure !== undefined) break;
      if (onlyZeros && !(chunk as Buffer).equals(Buffer.alloc((chunk as Buffer).length))) onlyZeros = false;
      // A parser that failed (even during this write) never drains: stop waiting when it is done.
      let more: boolean;
      try {
        more = parser.write(chunk as Buffer);
      } catch (error) {
        // node-tar throws from write for some damaged archives ("writing more to entry than is appropriate"):
        // the bytes are at fault, not the machine.
        failure ??= invalidParameter(`${what} is not a valid tar archive: ${(error as Error).message}`, error);
        break;
      }
      if (!more) await Promise.race([once(parser, 'drain'), parsed]);
    }
  } catch (error) {
    failure ??= isCorruptCompression(error) ? invalidParameter(`${what} is corrupt: ${(error as Error).message}`, error) : error;
  }
  if (failure === undefined) {
    try {
      parser.end();
    } catch (error) {
      // The same damage can surface only when the parser flushes what it holds.
      failure = invalidParameter(`${what} is not a valid tar archive: ${(error as Error).message}`, error);
    }
    if (failure === undefined) await parsed;
  }
  // The input stopped, or the parser failed (a truncated gzip stream fails only at its end), in the
  // middle of an entry: end its body so the handler reading it can finish instead of waiting forever.
  if (failure !== undefined) current?.end();
  await handled;
  if (failure !== undefined) {
    input.destroy();
    throw failure;
  }
}

/** zlib reports damaged gzip/zstd data with Z_* or ZSTD error codes. */
function isCorruptCompression(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.includes('ZSTD'));
}
