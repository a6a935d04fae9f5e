// Backs off password guessing. Each failed Basic login counts against the account named and the
// client address; past a few free failures each further one locks that key for twice as long
// (capped), and while a key is locked logins through it are refused with 429 + Retry-After before
// any password is checked. A success clears the account's count. Failures are forgotten after a
// quiet period, and the table is bounded so a flood of names cannot grow it without end.
// The clock is injected so tests move time by hand.

export interface ThrottleOptions {
  /** Failures allowed per account before backing off. Default 5. */
  freeAccountFailures?: number;
  /** Failures allowed per client address before backing off (several users may share one). Default 20. */
  freeAddressFailures?: number;
  /** First lockout (ms), doubled by each further failure. Default 1000. */
  baseDelayMs?: number;
  /** Longest lockout (ms). Default 15 min. */
  maxDelayMs?: number;
  /** A key without failures for this long starts over (ms). Default 1 h. */
  forgetAfterMs?: number;
  clock?: () => number;
}

interface Entry { failures: number; lockedUntil: number; lastFailure: number }

const MAX_KEYS = 100_000;

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly o: Required<ThrottleOptions>;
  constructor(options: ThrottleOptions = {}) {
    this.o = {
      freeAccountFailures: options.freeAccountFailures ?? 5, freeAddressFailures: options.freeAddressFailures ?? 20,
      baseDelayMs: options.baseDelayMs ?? 1000, maxDelayMs: options.maxDelayMs ?? 15 * 60_000,
      forgetAfterMs: options.forgetAfterMs ?? 3600_000, clock: options.clock ?? Date.now,
    };
  }

  private keys(account: string, address: string): [string, number][] {
    return [[`account:${account}`, this.o.freeAccountFailures], [`address:${address}`, this.o.freeAddressFailures]];
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && now - e.lastFailure > this.o.forgetAfterMs && now >= e.lockedUntil) { this.entries.delete(key); return undefined; }
    return e;
  }

  /** Seconds the caller must wait before this login may be tried, or 0. */
  retryAfter(account: string, address: string): number {
    const now = this.o.clock();
    let until = 0;
    for (const [key] of this.keys(account, address)) until = Math.max(until, this.live(key, now)?.lockedUntil ?? 0);
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  failed(account: string, address: string): void {
    const now = this.o.clock();
    for (const [key, free] of this.keys(account, address)) {
      const e = this.live(key, now) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
      e.failures++;
      e.lastFailure = now;
      if (e.failures > free) e.lockedUntil = now + Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.min(30, e.failures - free - 1));
      this.entries.delete(key); // re-insert: the Map's order is then least recently failed first
      this.entries.set(key, e);
    }
    while (this.entries.size > MAX_KEYS) this.entries.delete(this.entries.keys().next().value!);
  }

  succeeded(account: string): void { this.entries.delete(`account:${account}`); }
}
