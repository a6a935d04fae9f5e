// The volume rules of a container that need the other containers: what --volumes-from inherits, and
// whether a start would put one disk under two running VMs with a writer among them (the guests'
// filesystems would corrupt it; read-only everywhere is safe).
import { conflict, invalid } from '../errors.ts';
import type { ContainerMount, MountRequest } from '../volumes/model.ts';
import type { ContainerRecord } from './model.ts';

/** The container's mount requests: inherited ones first, then its own, which win per target. */
export function mountRequests(
  own: MountRequest[],
  volumesFrom: Array<{ source: ContainerRecord; readOnly?: boolean }>,
): MountRequest[] {
  const byTarget = new Map<string, MountRequest>();
  for (const { source, readOnly } of volumesFrom) {
    for (const m of source.mounts ?? []) {
      const ro = readOnly ?? m.readOnly;
      byTarget.set(m.target, { volume: m.volume, target: m.target, readOnly: ro, copyUp: m.copyUp, mode: readOnly === undefined ? m.mode : ro ? 'ro' : 'rw' });
    }
  }
  const seen = new Set<string>();
  for (const m of own) {
    if (seen.has(m.target)) throw invalid(`Duplicate mount point: ${m.target}`);
    seen.add(m.target);
    byTarget.set(m.target, m);
  }
  return [...byTarget.values()];
}

/** Throws Conflict when `mounts` and a running container's mounts share a volume with a writer among them. */
export function refuseSharedWriters(
  name: string,
  mounts: ContainerMount[],
  running: Array<{ name: string; mounts: ContainerMount[] }>,
): void {
  for (const mine of mounts) {
    for (const other of running) {
      const theirs = other.mounts.filter((m) => m.volume === mine.volume);
      if (theirs.length === 0) continue;
      const writer = !mine.readOnly ? name : theirs.some((m) => !m.readOnly) ? other.name : undefined;
      if (writer === undefined) continue;
      throw conflict(`volume "${mine.volume}" is in use by running container "${other.name}": a volume is a disk, and it can be mounted by several running containers only if all of them mount it read-only (container "${writer}" mounts it read-write); stop "${other.name}" first`);
    }
  }
}
