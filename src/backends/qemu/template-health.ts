// When a template is bad, and when to try making one again. A restore that is slow because the host
// is busy is not a broken template: only proof discards one. Pure decisions, so that they are tested
// without VMs or clocks.

/** How a clone's restore (or the restored guest's first answer) failed. */
export type RestoreFailure =
  /** Our timer ran out: the restore or the guest's HELLO took too long. */
  | 'timeout'
  /** QEMU went away during the restore (it exits on a bad stream, but also when the host cannot run it). */
  | 'exited'
  /** QEMU or the guest answered, and the answer was wrong (load refused, VM not paused, guest not waiting). */
  | 'refused';

export interface RestoreEvidence {
  failure: RestoreFailure;
  /** The template's files still match what was saved (checksum of the state, size and mtime of the RAM). */
  intact: boolean;
  /** The template restored from is still the one in place (not already discarded or replaced). */
  current: boolean;
  /** Other boots ran or waited, or the host's load was high, while this one failed. */
  hostBusy: boolean;
}

export type RestoreVerdict = { discard: false; why: string } | { discard: true; why: string };

export function restoreVerdict(e: RestoreEvidence): RestoreVerdict {
  if (!e.current) return { discard: false, why: 'that template was already replaced' };
  if (!e.intact) return { discard: true, why: 'its files no longer match their checksum' };
  if (e.failure === 'refused') return { discard: true, why: 'QEMU or the guest refused the restored state' };
  if (e.hostBusy) return { discard: false, why: `the host is busy (${e.failure === 'timeout' ? 'timed out' : 'QEMU went away'}), which proves nothing about the template` };
  return { discard: true, why: `it failed on an idle host (${e.failure === 'timeout' ? 'timed out' : 'QEMU went away'})` };
}

/** Exponential back-off between attempts to make a template: 5 s, 10 s, 20 s … up to 2 min. */
export class Backoff {
  private failures = 0;
  readonly baseMs: number;
  readonly maxMs: number;

  constructor(baseMs = 5_000, maxMs = 120_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  get attempts(): number {
    return this.failures;
  }

  /** Records a failure; returns how long to wait before the next attempt. */
  failed(): number {
    this.failures++;
    return Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
  }

  succeeded(): void {
    this.failures = 0;
  }
}

/**
 * One VM shape's template over time, for the retry schedule and for `docker info`: ready, being made
 * (the first time, or again since it went away), or waiting to try again after a failed attempt.
 */
export class TemplateLifecycle {
  private readonly now: () => number;
  private readonly backoff: Backoff;
  private state: 'new' | 'building' | 'ready' | 'waiting' = 'new';
  /** Start of the current stretch without a ready template (after it was ready once: "rebuilding"). */
  private since?: number;
  private wasReady = false;
  private nextTryAt = 0;
  private lastError = '';

  constructor(now: () => number = Date.now, backoff = new Backoff()) {
    this.now = now;
    this.backoff = backoff;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** Whether an attempt may start now: none running, and any back-off has passed. */
  mayTry(): boolean {
    if (this.state === 'building') return false;
    return this.state !== 'waiting' || this.now() >= this.nextTryAt;
  }

  building(): void {
    if (this.state === 'ready' || this.since === undefined) this.since = this.now();
    this.state = 'building';
  }

  /** The template is in place (made now, or found on disk). */
  ready(): void {
    this.state = 'ready';
    this.wasReady = true;
    this.since = undefined;
    this.lastError = '';
    this.backoff.succeeded();
  }

  /** An attempt failed; returns the delay until the next one. */
  failed(why: string): number {
    const delay = this.backoff.failed();
    this.state = 'waiting';
    this.lastError = why;
    this.nextTryAt = this.now() + delay;
    return delay;
  }

  /** The template went away (discarded as broken); a new one is to be made right away. */
  discarded(): void {
    this.state = 'new';
    this.wasReady = true;
    this.since = this.now();
  }

  /** "ready", "rebuilding since …", "being made since …" or "failed (attempt n, next try in 20s): why". */
  describe(): string {
    const since = this.since === undefined ? '' : ` since ${new Date(this.since).toISOString().replace(/\.\d+Z$/, 'Z')}`;
    switch (this.state) {
      case 'ready': return 'ready';
      case 'waiting': {
        const wait = Math.max(0, Math.ceil((this.nextTryAt - this.now()) / 1000));
        return `failed (attempt ${this.backoff.attempts}, next try in ${wait}s${since ? `, not ready${since}` : ''}): ${this.lastError}`;
      }
      default: return `${this.wasReady ? 'rebuilding' : 'being made'}${since}`;
    }
  }
}
