// The container's output as the port layer reads it, from the log-port file the guest writes through
// QEMU (durable while no engine runs).
import { statSync } from 'node:fs';
import type { ExitStatus, LogReadOptions, OutputRecord } from '../../portlayer/backend.ts';
import { followLog, gapOf, readLogRecords, recordedEnd, trimTornTail } from '../../tether/logfile.ts';
import type { LogRecord } from '../../tether/logfile.ts';

export function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function* outputOf(records: Iterable<LogRecord>): Iterable<OutputRecord> {
  for (const r of records) {
    if (r.session !== 0) continue;
    if (r.kind === 'stdout' || r.kind === 'stderr') yield { stream: r.kind, timeNs: r.timeNs, data: r.data };
    const gap = r.kind === 'gap' ? gapOf(r) : undefined;
    // The guest's journal overflowed while no engine listened: said where it happened, on stderr.
    if (gap) yield { stream: 'stderr', timeNs: r.timeNs, data: Buffer.from(`[bonneville: ${gap.bytes} bytes of ${gap.stream} were lost while the engine was away]\n`) };
  }
}

/** Following stops when the signal aborts, after one last read (followLog): nothing already written is missed. */
export async function* readOutput(path: string, options: LogReadOptions): AsyncIterable<OutputRecord> {
  if (options.follow) {
    const follow = new AbortController();
    const stop = () => follow.abort();
    options.signal?.addEventListener('abort', stop, { once: true });
    if (options.signal?.aborted) follow.abort();
    try {
      for await (const record of followLog(path, options.from, follow.signal)) yield* outputOf([record]);
    } finally {
      options.signal?.removeEventListener('abort', stop);
    }
    return;
  }
  const { records } = await readLogRecords(path, options.from);
  yield* outputOf(records);
}

/** How the process of the last start ended, if the log says. */
export async function lastExit(path: string): Promise<ExitStatus | undefined> {
  const { records } = await readLogRecords(path, 0);
  let status: ExitStatus | undefined;
  for (const r of records) {
    if (r.session !== 0) continue;
    if (r.kind === 'started') status = undefined;
    else if (r.kind === 'exit' || r.kind === 'error') status = recordedEnd(r);
  }
  return status;
}

/** A VM killed mid-frame leaves a torn last frame; cut it off before the next boot appends. */
export async function trimTornFrame(path: string): Promise<void> {
  await trimTornTail(path);
}
