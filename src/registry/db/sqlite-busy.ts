// Waiting for SQLite's locks without freezing the process. node:sqlite calls are synchronous, so
// SQLite's own busy handler (busy_timeout) would sleep inside the call and stop the event loop —
// every request of this process, reads and pulls included — for as long as another process holds
// the write lock. Instead the connections run with busy_timeout = 0, and a statement refused
// with SQLITE_BUSY is retried after a short timer, letting other work run meanwhile.
import { setTimeout as sleep } from 'node:timers/promises';

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: string; errcode?: number } | null)?.errcode;
  return (e as { code?: string } | null)?.code === 'ERR_SQLITE_ERROR' && typeof code === 'number'
    && ((code & 0xff) === SQLITE_BUSY || (code & 0xff) === SQLITE_LOCKED);
}

export class LockWaitTimeout extends Error {}

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY, backing off from 1 ms to 25 ms between
 * tries; gives up after `maxWaitMs`. `attempt` must have no effect when it fails busy (a single
 * statement or BEGIN, never a half-run script).
 */
export async function whenUnlocked<T>(attempt: () => T, maxWaitMs: number): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  let delay = 1;
  for (;;) {
    try {
      return attempt();
    } catch (e) {
      if (!isBusy(e)) throw e;
      if (Date.now() >= deadline) throw new LockWaitTimeout(`the SQLite database stayed locked for ${maxWaitMs} ms`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 25);
  }
}
