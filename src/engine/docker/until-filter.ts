// Docker's `until` prune filter: unix seconds, a Go-style duration ago ("10m", "24h"), or a date.
import { invalid } from '../../portlayer/errors.ts';

/** The filter's instant in milliseconds since the epoch; things created at or before it match. */
export function untilTime(value: string, now = Date.now()): number {
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return seconds * 1000;
  const duration = /^(\d+)(s|m|h)$/.exec(value);
  if (duration) return now - Number(duration[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[duration[2] as 's' | 'm' | 'h'];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw invalid(`invalid filter 'until=${value}'`);
  return t;
}
