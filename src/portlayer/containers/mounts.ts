// The volume rules of a container that need the other containers: what --volumes-from inherits, and
// whether a start would put one disk under two running VMs with a writer among them (the guests'
// filesystems would corrupt it; read-only everywhere is safe).
import { conflict, invalid } from '../errors.ts';
import type { ContainerMount, MountRequest } from '../volumes/model.ts';
import type { ContainerRecord } from './model.ts';
import type { HostBind } from './host-binds.ts';

/**
 * The container's volume requests and host binds: inherited ones first (--volumes-from takes both, as
 * dockerd's does), then its own, which win per target.
 */
export function mountRequests(
  own: MountRequest[],
  volumesFrom: Array<{ source: ContainerRecord; readOnly?: boolean }>,
  ownBinds: HostBind[] = [],
): { requests: MountRequest[]; binds: HostBind[] } {
  const byTarget = new Map<string, { volume: MountRequest } | { bind: HostBind }>();
  for (const { source, readOnly } of volumesFrom) {
    const mode = (m: { readOnly: boolean; mode: string }) => (readOnly === undefined ? m.mode : (readOnly ?? m.readOnly) ? 'ro' : 'rw');
    for (const m of source.mounts ?? []) {
      byTarget.set(m.target, { volume: { volume: m.volume, target: m.target, readOnly: readOnly ?? m.readOnly, copyUp: m.copyUp, mode: mode(m) } });
    }
    for (const b of source.binds ?? []) {
      byTarget.set(b.target, { bind: { ...b, readOnly: readOnly ?? b.readOnly, mode: mode(b) } });
    }
  }
  const seen = new Set<string>();
  const claim = (target: string) => {
    if (seen.has(target)) throw invalid(`Duplicate mount point: ${target}`);
    seen.add(target);
  };
  for (const m of own) {
    claim(m.target);
    byTarget.set(m.target, { volume: m });
  }
  for (const b of ownBinds) {
    claim(b.target);
    byTarget.set(b.target, { bind: b });
  }
  const requests: MountRequest[] = [];
  const binds: HostBind[] = [];
  for (const entry of byTarget.values()) {
    if ('volume' in entry) requests.push(entry.volume);
    else binds.push(entry.bind);
  }
  return { requests, binds };
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
