// Which registry processes are alive. Each process has a random id and a `processes` row whose
// heartbeat it refreshes every `beatMs`; executions (GC, retention, replication) and SQLite's
// cross-process leases record that id as their owner. A process whose heartbeat is older than
// `staleAfterMs` is taken for dead (kill -9, power loss, a lost host): its row is dropped, and
// every execution still marked running without a live owner is marked failed — at start-up and
// on each beat, by whichever processes are up. Heartbeats are compared with the reaper's clock,
// so hosts sharing a database need clocks within a fraction of the bound.
import type { SqlDriver } from '../db/sql.ts';

/** SQL condition (on a table with an `owner` column) that no live process owns the row. */
export const ownerGone = '(owner IS NULL OR owner NOT IN (SELECT id FROM processes))';

/** Marks a store's running executions without a live owner failed; returns how many. */
export type Reaper = (now: number) => Promise<number>;

export interface LivenessOptions {
  sql: SqlDriver;
  id: string;
  clock: () => number;
  beatMs: number;
  staleAfterMs: number;
  reapers: Reaper[];
  log: (line: string) => void;
}

export class Liveness {
  private readonly o: LivenessOptions;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  constructor(o: LivenessOptions) { this.o = o; }

  get id(): string { return this.o.id; }

  /** The oldest heartbeat still counted as alive. */
  liveSince(): number { return this.o.clock() - this.o.staleAfterMs; }

  /** Registers this process, fails what dead ones left running, and keeps beating. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => { this.beating ??= this.beat().catch((e) => this.o.log(`heartbeat: ${e}`)).finally(() => { this.beating = null; }); }, this.o.beatMs);
    this.timer.unref();
  }

  /** One heartbeat and one sweep (public so tests can drive it). */
  async beat(): Promise<void> {
    const { sql, id } = this.o;
    const now = this.o.clock();
    // An upsert, so a process presumed dead after a long stall comes back to life.
    await sql.run(`INSERT INTO processes (id, heartbeat_at, started_at) VALUES (?,?,?)
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id, now, now);
    await sql.run('DELETE FROM processes WHERE heartbeat_at < ? AND id <> ?', now - this.o.staleAfterMs, id);
    let failed = 0;
    for (const reap of this.o.reapers) failed += await reap(now);
    if (failed > 0) this.o.log(`marked ${failed} execution(s) of stopped processes failed`);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    // Leaving cleanly: nothing of ours is running any more, so others need not wait out the bound.
    await this.o.sql.run('DELETE FROM processes WHERE id = ?', this.o.id).catch(() => undefined);
  }
}
