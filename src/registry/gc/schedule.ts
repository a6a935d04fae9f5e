// The periodic GC (Harbor's Hourly/Daily/Weekly presets or a Custom cron), stored as a setting so
// every process sharing the database sees it, and offered to the shared scheduler (jobs/).
import type { Metadata } from '../db/metadata.ts';
import { badRequest, RegistryError } from '../http/errors.ts';
import { checkCron, parseCron, presets } from '../jobs/cron.ts';
import type { Scheduled } from '../jobs/scheduler.ts';
import type { GcRunner } from './runner.ts';

const types = ['None', 'Hourly', 'Daily', 'Weekly', 'Custom'] as const;
export type ScheduleType = typeof types[number];
export interface GcSchedule { type: ScheduleType; cron: string; deleteUntagged: boolean; since: number }

const settingName = 'gc_schedule';

/** The schedule an API body asks for (`type` other than Manual); `since` is now. */
export function scheduleFromBody(schedule: any, deleteUntagged: boolean, now: number): GcSchedule {
  const type = schedule?.type;
  if (!types.includes(type)) throw badRequest(`schedule.type must be Manual, ${types.join(', ')}`);
  if (type === 'None') return { type, cron: '', deleteUntagged, since: now };
  const cron = type === 'Custom' ? checkCron(schedule.cron) : presets[type];
  if (!cron) throw badRequest('a Custom schedule needs schedule.cron');
  return { type, cron, deleteUntagged, since: now };
}

export async function readSchedule(db: Metadata): Promise<GcSchedule> {
  const raw = await db.setting(settingName);
  if (!raw) return { type: 'None', cron: '', deleteUntagged: false, since: 0 };
  const s = JSON.parse(raw) as Partial<GcSchedule> & { type: ScheduleType };
  // Settings written before cron support hold only a preset name.
  return { type: s.type, cron: s.cron ?? (s.type === 'None' ? '' : presets[s.type] ?? ''), deleteUntagged: s.deleteUntagged === true, since: s.since ?? 0 };
}

export async function saveSchedule(db: Metadata, s: GcSchedule): Promise<void> {
  await db.setSetting(settingName, JSON.stringify(s));
}

/** The GC schedule for the scheduler: a slot starts a run unless one is already going. */
export function gcSchedules(runner: GcRunner): () => Promise<Scheduled[]> {
  return async () => {
    const s = await readSchedule(runner.db);
    if (!s.cron) return [];
    return [{
      id: 'gc', cron: parseCron(s.cron), since: s.since,
      fire: async () => {
        try {
          await runner.start({ dryRun: false, deleteUntagged: s.deleteUntagged, trigger: 'SCHEDULE' });
        } catch (e) {
          if (!(e instanceof RegistryError && e.status === 409)) throw e; // a collection is already running
        }
      },
    }];
  };
}
