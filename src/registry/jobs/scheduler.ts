// One scheduler for every periodic job (GC, retention, replication). Each feature lists its
// schedules; on every tick each process computes the latest slot of each cron and tries to claim
// (schedule, slot) with an INSERT that only one process can win, so a slot runs once however many
// registry processes share the database. Only the latest slot is considered: runs missed while
// every process was down collapse into one catch-up run, and a schedule never fires for slots
// from before it was set (`since`).
import type { SqlDriver } from '../db/sql.ts';
import type { Cron } from './cron.ts';

export interface Scheduled {
  /** Stable name of the schedule, e.g. `retention/3`. */
  id: string;
  cron: Cron;
  /** When the schedule was set (ms); earlier slots are not its. */
  since: number;
  /** Starts the job for `slot`; a job already running elsewhere may simply decline. */
  fire(slot: number): Promise<void>;
}

/** A feature's schedules as they stand in the database right now. */
export type ScheduleSource = () => Promise<Scheduled[]>;

export interface SchedulerDeps {
  sql: SqlDriver;
  /** This process's id (recorded with each claim, for the curious). */
  owner: string;
  sources: ScheduleSource[];
  clock: () => number;
  log: (line: string) => void;
}

export class Scheduler {
  private readonly deps: SchedulerDeps;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<string[]> | null = null;
  constructor(deps: SchedulerDeps) { this.deps = deps; }

  /** Ticks every `everyMs` (0: never; tests tick by hand). */
  start(everyMs: number): void {
    if (everyMs <= 0) return;
    this.timer = setInterval(() => { void this.tick().catch((e) => this.deps.log(`scheduler: ${e}`)); }, everyMs);
    this.timer.unref();
  }

  /** Fires every schedule whose latest slot is unclaimed; returns the ids fired by this process. */
  tick(): Promise<string[]> {
    // Ticks of one process do not overlap (a slow database must not stack them up).
    this.ticking ??= this.check().finally(() => { this.ticking = null; });
    return this.ticking;
  }

  private async check(): Promise<string[]> {
    const now = this.deps.clock();
    const fired: string[] = [];
    for (const source of this.deps.sources) {
      // One feature's broken listing must not stop the others' schedules.
      const listed = await source().catch((e) => { this.deps.log(`scheduler: ${e instanceof Error ? e.message : e}`); return []; });
      for (const s of listed) {
        const slot = s.cron.latestAtOrBefore(now);
        if (slot === null || slot <= s.since) continue;
        if (!(await this.claim(s.id, slot, now))) continue;
        fired.push(s.id);
        await s.fire(slot).catch((e) => this.deps.log(`scheduled ${s.id}: ${e instanceof Error ? e.message : e}`));
      }
    }
    return fired;
  }

  private async claim(id: string, slot: number, now: number): Promise<boolean> {
    const { sql } = this.deps;
    const won = await sql.run('INSERT INTO schedule_claims (schedule, slot, owner, claimed_at) VALUES (?,?,?,?) ON CONFLICT (schedule, slot) DO NOTHING',
      id, slot, this.deps.owner, now);
    // Older slots can never be the latest again: keep one row per schedule.
    if (won > 0) await sql.run('DELETE FROM schedule_claims WHERE schedule = ? AND slot < ?', id, slot);
    return won > 0;
  }

  stop(): void { if (this.timer) clearInterval(this.timer); this.timer = null; }

  async idle(): Promise<void> { await this.ticking?.catch(() => undefined); }
}
