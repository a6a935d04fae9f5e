// Reading the log port's file: the main process's output and fate, appended by QEMU across boots.
// Every payload starts with the guest's i64 unix-ns timestamp (docs/tether-protocol.md).
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { FRAME_HEADER_SIZE, FrameDecoder, FrameType, type Frame } from './frames.ts';

export type LogRecordKind = 'stdout' | 'stderr' | 'started' | 'exit' | 'error' | 'gap';

export interface LogRecord {
  kind: LogRecordKind;
  session: number;
  /** Guest clock, unix nanoseconds. */
  timeNs: bigint;
  /** The body after the timestamp: raw output, or JSON for started/exit/error. */
  data: Buffer;
  /** File offset just past this record: pass it as `fromOffset` to continue after it. */
  offset: number;
}

export interface LogReadResult {
  records: LogRecord[];
  /** Where complete frames end; a truncated last frame (still being written) starts here. */
  nextOffset: number;
}

const KINDS = new Map<number, LogRecordKind>([
  [FrameType.Stdout, 'stdout'],
  [FrameType.Stderr, 'stderr'],
  [FrameType.Started, 'started'],
  [FrameType.Exit, 'exit'],
  [FrameType.Error, 'error'],
  [FrameType.Gap, 'gap'],
]);

const TIMESTAMP_SIZE = 8;
const READ_CHUNK = 256 * 1024;
const POLL_MS = 250;

/** Parses frames from `fromOffset` to the current end of the file (a missing file has none). */
export async function readLogRecords(path: string, fromOffset = 0): Promise<LogReadResult> {
  const reader = new LogReader(fromOffset);
  const file = await openIfExists(path);
  if (!file) return { records: [], nextOffset: fromOffset };
  try {
    const records: LogRecord[] = [];
    for (;;) {
      const batch = await reader.readFrom(file);
      if (batch === null) break;
      records.push(...batch);
    }
    return { records, nextOffset: reader.offset };
  } finally {
    await file.close();
  }
}

/** Cuts a torn last frame (its writer was killed mid-frame) off the file; the records that remain. */
export async function trimTornTail(path: string): Promise<LogReadResult> {
  const read = await readLogRecords(path, 0);
  const size = await stat(path).then((s) => s.size, () => 0);
  if (size > read.nextOffset) await truncate(path, read.nextOffset);
  return read;
}

/** How a session-0 EXIT or ERROR record ended the process. */
export interface RecordedEnd {
  code: number;
  error?: string;
}

export function recordedEnd(record: LogRecord): RecordedEnd {
  if (record.kind === 'error') {
    const error = JSON.parse(record.data.toString()) as { code: number; message: string };
    return { code: error.code, error: error.message };
  }
  return { code: (JSON.parse(record.data.toString()) as { code: number }).code };
}

/** A GAP record's body: bytes of a stream the tether's journal had no longer (docs/tether-protocol.md). */
export interface LogGap {
  stream: 'stdout' | 'stderr';
  bytes: number;
}

export function gapOf(record: LogRecord): LogGap | undefined {
  try {
    const gap = JSON.parse(record.data.toString()) as LogGap;
    return (gap.stream === 'stdout' || gap.stream === 'stderr') && Number.isSafeInteger(gap.bytes) && gap.bytes >= 0 ? gap : undefined;
  } catch {
    return undefined;
  }
}

/** What a log holds of one boot of a journaled tether: RESUME's figures, and its end if recorded. */
export interface BootPosition {
  started: boolean;
  stdout: number;
  stderr: number;
  end?: RecordedEnd;
}

/**
 * Counts each stream's bytes of session 0 after the boot's STARTED (a GAP counts the bytes it stands
 * for): the offsets in the tether's journal the log has reached.
 */
export function bootPosition(records: readonly LogRecord[], boot: string): BootPosition {
  let from = -1;
  for (let i = records.length - 1; i >= 0 && from < 0; i--) {
    const r = records[i];
    if (r.session !== 0 || r.kind !== 'started') continue;
    try {
      if ((JSON.parse(r.data.toString()) as { boot?: unknown }).boot === boot) from = i;
    } catch { /* not this boot's */ }
  }
  const position: BootPosition = { started: from >= 0, stdout: 0, stderr: 0 };
  if (from < 0) return position;
  for (const r of records.slice(from + 1)) {
    if (r.session !== 0) continue;
    if (r.kind === 'stdout' || r.kind === 'stderr') position[r.kind] += r.data.length;
    else if (r.kind === 'gap') {
      const gap = gapOf(r);
      if (gap) position[gap.stream] += gap.bytes;
    } else if (r.kind === 'exit' || r.kind === 'error') position.end ??= recordedEnd(r);
    else if (r.kind === 'started') break;
  }
  return position;
}

/**
 * Yields records from `fromOffset` on, then waits for the file to grow (fs.watch, with a poll as a
 * fallback for changes watch misses) until `signal` aborts, then reads once more to the end: what was
 * written before the stop is not missed. The file may not exist yet.
 */
export async function* followLog(path: string, fromOffset: number, signal: AbortSignal): AsyncGenerator<LogRecord> {
  const reader = new LogReader(fromOffset);
  let file: FileHandle | undefined;
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    while (!signal.aborted) {
      file ??= await openIfExists(path);
      if (file && !watcher) {
        try {
          watcher = watch(path, { persistent: false }, () => wake?.());
          watcher.on('error', () => {});
        } catch {
          // Polling alone still works.
        }
      }
      let progressed = false;
      if (file) {
        for (;;) {
          const batch = await reader.readFrom(file);
          if (batch === null) break;
          progressed = true;
          // The whole batch: the reader is past it, and the last read below starts after it.
          yield* batch;
          if (signal.aborted) break;
        }
      }
      if (!progressed && !signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
    // The last read, on the handle already open (a stop at a process's exit ends an attach: no reopening on its way).
    file ??= await openIfExists(path);
    if (file) {
      for (let batch = await reader.readFrom(file); batch !== null; batch = await reader.readFrom(file)) yield* batch;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    watcher?.close();
    // Not awaited: the reader is done with it, and its caller need not wait for the close.
    file?.close().catch(() => {});
  }
}

/** Incremental parser state: how far the file has been consumed and the bytes of a partial frame. */
class LogReader {
  readonly #decoder = new FrameDecoder();
  readonly #buffer = Buffer.allocUnsafe(READ_CHUNK);
  /** Offset of the first byte not yet read from the file. */
  #readOffset: number;
  /** Offset just past the last complete frame. */
  offset: number;

  constructor(fromOffset: number) {
    this.#readOffset = fromOffset;
    this.offset = fromOffset;
  }

  /** Reads one chunk; null at the current end of the file. */
  async readFrom(file: FileHandle): Promise<LogRecord[] | null> {
    const { bytesRead } = await file.read(this.#buffer, 0, READ_CHUNK, this.#readOffset);
    if (bytesRead === 0) return null;
    this.#readOffset += bytesRead;
    const frames = this.#decoder.push(Buffer.from(this.#buffer.subarray(0, bytesRead)));
    const records: LogRecord[] = [];
    for (const frame of frames) {
      this.offset += FRAME_HEADER_SIZE + frame.payload.length;
      const record = toRecord(frame, this.offset);
      if (record) records.push(record);
    }
    return records;
  }
}

/** A log port frame as a record (`offset`: where it ends in its file); undefined for other types. */
export function toRecord(frame: Frame, offset: number): LogRecord | undefined {
  const kind = KINDS.get(frame.type);
  if (!kind || frame.payload.length < TIMESTAMP_SIZE) return undefined;
  return {
    kind,
    session: frame.session,
    timeNs: frame.payload.readBigInt64BE(0),
    data: frame.payload.subarray(TIMESTAMP_SIZE),
    offset,
  };
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
