// Docker's progress messages (the JSON lines `docker pull` and `docker push` render as bars), and
// the text of a bar: "[=====>      ]  1.2MB/5.6MB".

export interface ProgressMessage {
  status: string;
  /** The short id of the layer (12 hex digits) or the tag the line is about. */
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  aux?: Record<string, unknown>;
}

export type ProgressSink = (message: ProgressMessage) => void;

const BAR_WIDTH = 50;

export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toPrecision(3).replace(/\.?0+$/, '')}${units[unit]}`;
}

export function progressBar(current: number, total: number): string {
  if (total <= 0) return `${humanSize(current)}`;
  const filled = Math.min(BAR_WIDTH, Math.floor((current / total) * BAR_WIDTH));
  const bar = filled >= BAR_WIDTH ? '='.repeat(BAR_WIDTH) : `${'='.repeat(filled)}>${' '.repeat(BAR_WIDTH - filled - 1)}`;
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Reports byte counts at most every `intervalMs`, plus the final count. */
export function throttledProgress(report: (current: number) => void, intervalMs = 100): (current: number, final?: boolean) => void {
  let last = 0;
  return (current, final = false) => {
    const now = Date.now();
    if (final || now - last >= intervalMs) {
      last = now;
      report(current);
    }
  };
}

/** Runs `tasks` with at most `limit` at once; rejects with the first failure once the running ones settle. */
export async function runBounded<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
