// A periodic GC (Harbor's Hourly/Daily/Weekly schedules), stored as a setting so every process
// sharing the database sees it. Each process checks once a minute whether a run is due — no GC
// started within the period — and the runner's cross-process lock keeps it to one run.
import type { Metadata } from '../db/metadata.ts';
import { badRequest, RegistryError } from '../http/errors.ts';
import type { GcRunner } from './runner.ts';

const periods = { Hourly: 3600_000, Daily: 86400_000, Weekly: 7 * 86400_000 } as const;
export type ScheduleType = 'None' | keyof typeof periods;
export interface GcSchedule { type: ScheduleType; deleteUntagged: boolean }

const settingName = 'gc_schedule';

export function parseScheduleType(v: unknown): ScheduleType {
  if (v === 'None' || (typeof v === 'string' && v in periods)) return v as ScheduleType;
  throw badRequest(`schedule.type must be Manual, None, ${Object.keys(periods).join(', ')}`);
}

export async function readSchedule(db: Metadata): Promise<GcSchedule> {
  const raw = await db.setting(settingName);
  return raw ? JSON.parse(raw) as GcSchedule : { type: 'None', deleteUntagged: false };
}

export async function saveSchedule(db: Metadata, s: GcSchedule): Promise<void> {
  await db.setSetting(settingName, JSON.stringify(s));
}

export class GcScheduler {
  private readonly runner: GcRunner;
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | null = null;
  constructor(runner: GcRunner, log: (line: string) => void) { this.runner = runner; this.log = log; }

  start(checkEveryMs = 60_000): void {
    this.timer = setInterval(() => { void this.tick(Date.now()).catch((e) => this.log(`gc schedule: ${e}`)); }, checkEveryMs);
    this.timer.unref();
  }

  /** Starts a scheduled run when one is due; true when it did. */
  async tick(now: number): Promise<boolean> {
    const schedule = await readSchedule(this.runner.db);
    if (schedule.type === 'None') return false;
    const last = (await this.runner.db.listGcRuns())[0];
    if (last && last.startedAt > now - periods[schedule.type]) return false;
    try {
      await this.runner.start({ dryRun: false, deleteUntagged: schedule.deleteUntagged });
      return true;
    } catch (e) {
      if (e instanceof RegistryError && e.status === 409) return false; // another process runs it
      throw e;
    }
  }

  stop(): void { if (this.timer) clearInterval(this.timer); }
}
