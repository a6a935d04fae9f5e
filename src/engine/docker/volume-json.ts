// The Docker API's volume shapes and the filters of `volume ls` and `volume prune`.
import { matchesLabelFilter } from './label-filter.ts';
import type { VolumeView } from '../../portlayer/volumes/model.ts';
import { invalid } from '../../portlayer/errors.ts';
import { namePattern } from './name-pattern.ts';

/** Docker (≥ 23) marks anonymous volumes with this label; prune without `all` takes only those. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export function volumeLabels(v: VolumeView): Record<string, string> {
  return { ...v.record.labels, ...(v.record.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
}

/** Mountpoint is the volume's disk image: the volume lives there, not in a host directory. */
export function volumeJson(v: VolumeView, usage?: { size: number }): Record<string, unknown> {
  return {
    Name: v.record.name,
    Driver: v.record.driver,
    Mountpoint: v.disk,
    CreatedAt: v.record.created,
    Labels: volumeLabels(v),
    Scope: 'local',
    Options: Object.keys(v.record.options).length ? v.record.options : null,
    ...(usage ? { UsageData: { Size: usage.size, RefCount: v.usedBy.length } } : {}),
  };
}

const LIST_FILTERS = new Set(['name', 'label', 'dangling', 'driver']);

export function filterVolumes(volumes: VolumeView[], filters: Map<string, string[]>): VolumeView[] {
  for (const key of filters.keys()) if (!LIST_FILTERS.has(key)) throw invalid(`invalid filter '${key}'`);
  const dangling = filters.get('dangling')?.map((d) => parseBool('dangling', d));
  return volumes.filter((v) =>
    matchAny(filters.get('name'), (n) => nameMatches(v.record.name, n)) &&
    matchAny(filters.get('driver'), (d) => v.record.driver === d) &&
    (filters.get('label') ?? []).every((l) => matchesLabelFilter(volumeLabels(v), l)) &&
    matchAny(dangling, (d) => d === (v.usedBy.length === 0)));
}

const PRUNE_FILTERS = new Set(['label', 'label!', 'all']);

/** Prune's filters: whether to consider named volumes too, and which volumes the labels select. */
export function pruneFilters(filters: Map<string, string[]>): { all: boolean; select: (v: VolumeView) => boolean } {
  for (const key of filters.keys()) if (!PRUNE_FILTERS.has(key)) throw invalid(`invalid filter '${key}'`);
  const all = (filters.get('all') ?? []).some((a) => parseBool('all', a));
  return {
    all,
    select: (v) => (filters.get('label') ?? []).every((l) => matchesLabelFilter(volumeLabels(v), l)) &&
      !(filters.get('label!') ?? []).some((l) => matchesLabelFilter(volumeLabels(v), l)),
  };
}

function matchAny<T>(wanted: T[] | undefined, test: (w: T) => boolean): boolean {
  return !wanted || wanted.length === 0 || wanted.some(test);
}

/** Docker matches volume names as a regular expression (so a plain word matches anywhere in the name). */
function nameMatches(name: string, pattern: string): boolean {
  try {
    return namePattern(pattern).test(name);
  } catch {
    return name.includes(pattern);
  }
}

function parseBool(key: string, value: string): boolean {
  if (['true', '1'].includes(value.toLowerCase())) return true;
  if (['false', '0'].includes(value.toLowerCase())) return false;
  throw invalid(`invalid filter '${key}=${value}'`);
}
