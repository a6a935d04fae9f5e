// Harbor's cron strings: six fields, seconds first (`sec min hour day-of-month month day-of-week`),
// each `*`, `*/N`, `A`, `A-B`, `A-B/N` or a comma list of those; `@hourly`/`@daily`/`@weekly` and
// the GC API's Hourly/Daily/Weekly presets stand for fixed expressions. A five-field string (no
// seconds) is read as firing at second 0. Times are UTC so every process sharing a database —
// whatever its host's zone — agrees on when a slot is.
import { badRequest } from '../http/errors.ts';

export const presets: Record<string, string> = {
  Hourly: '0 0 * * * *', Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0',
  '@hourly': '0 0 * * * *', '@daily': '0 0 0 * * *', '@midnight': '0 0 0 * * *', '@weekly': '0 0 0 * * 0',
};

interface Field { min: number; max: number }
const fields: Field[] = [
  { min: 0, max: 59 }, { min: 0, max: 59 }, { min: 0, max: 23 }, { min: 1, max: 31 }, { min: 1, max: 12 }, { min: 0, max: 7 },
];

export interface Cron {
  readonly text: string;
  /** The latest slot at or before `t` (ms), or null when there is none within the search horizon. */
  latestAtOrBefore(t: number): number | null;
  /** The first slot after `t` (ms). */
  nextAfter(t: number): number | null;
}

function parseField(text: string, f: Field, what: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw badRequest(`cron: cannot read ${what} "${part}"`);
    let lo = f.min, hi = f.max;
    if (m[2] !== undefined) { lo = Number(m[2]); hi = m[3] !== undefined ? Number(m[3]) : (m[4] !== undefined ? f.max : lo); }
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < f.min || hi > f.max || lo > hi || step < 1) throw badRequest(`cron: ${what} "${part}" is out of range ${f.min}-${f.max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  // Sunday may be written 7, as many crons accept (only the day-of-week field reaches 7).
  if (out.delete(7)) out.add(0);
  return out;
}

const names = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'];

export function parseCron(input: string): Cron {
  const text = presets[input.trim()] ?? input.trim();
  let parts = text.split(/\s+/);
  if (parts.length === 5) parts = ['0', ...parts];
  if (parts.length !== 6) throw badRequest(`cron: want 6 fields (seconds first), got "${input}"`);
  const sets = parts.map((p, i) => parseField(p, fields[i], names[i]));
  const [sec, min, hour, dom, month, dow] = sets;
  // As in classic cron: when both day fields are restricted a day matching either one fires.
  const domAny = parts[3] === '*', dowAny = parts[5] === '*';
  const dayOk = (d: Date) => {
    const a = dom.has(d.getUTCDate()), b = dow.has(d.getUTCDay());
    return domAny || dowAny ? a && b : a || b;
  };
  // Walks field by field from the largest unit: a mismatch jumps to the boundary of that unit
  // (the start of the next one going forward, the last second of the previous one going back).
  const search = (from: number, dir: 1 | -1): number | null => {
    const d = new Date(Math.floor(from / 1000) * 1000);
    const limit = from + dir * 5 * 366 * 86400_000;
    while (dir > 0 ? d.getTime() <= limit : d.getTime() >= limit) {
      if (!month.has(d.getUTCMonth() + 1)) {
        if (dir > 0) d.setUTCFullYear(d.getUTCFullYear(), d.getUTCMonth() + 1, 1); else d.setUTCFullYear(d.getUTCFullYear(), d.getUTCMonth(), 0);
        d.setUTCHours(dir > 0 ? 0 : 23, dir > 0 ? 0 : 59, dir > 0 ? 0 : 59);
        continue;
      }
      if (!dayOk(d)) { d.setUTCDate(d.getUTCDate() + dir); d.setUTCHours(dir > 0 ? 0 : 23, dir > 0 ? 0 : 59, dir > 0 ? 0 : 59); continue; }
      if (!hour.has(d.getUTCHours())) { d.setUTCHours(d.getUTCHours() + dir, dir > 0 ? 0 : 59, dir > 0 ? 0 : 59); continue; }
      if (!min.has(d.getUTCMinutes())) { d.setUTCMinutes(d.getUTCMinutes() + dir, dir > 0 ? 0 : 59); continue; }
      if (!sec.has(d.getUTCSeconds())) { d.setUTCSeconds(d.getUTCSeconds() + dir); continue; }
      return d.getTime();
    }
    return null;
  };
  return {
    text,
    latestAtOrBefore: (t) => search(t, -1),
    nextAfter: (t) => search(Math.floor(t / 1000) * 1000 + 1000, 1),
  };
}

/** Validates a cron string from an API body ('' means no schedule). */
export function checkCron(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string') throw badRequest('cron must be a string');
  if (parseCron(v).nextAfter(Date.now()) === null) throw badRequest(`cron "${v}" never fires`);
  return v.trim();
}
