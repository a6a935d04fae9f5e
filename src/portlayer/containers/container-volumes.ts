// Containers' volumes as the volume store sees them: attached at create (volumesFrom included), turned
// into VM disks at boot, counted as users, and anonymous ones dropped with their container.
import type { VmVolume } from '../backend.ts';
import { invalid } from '../errors.ts';
import type { ContainerRecord, ContainerSpec } from './model.ts';
import type { ContainerMount, VolumeAttacher } from '../volumes/model.ts';
import { mountRequests } from './mounts.ts';
import type { LiveContainers } from './registry.ts';

export class ContainerVolumes {
  /** Absent: containers cannot have volumes. */
  private readonly volumes: VolumeAttacher | undefined;
  private readonly live: LiveContainers;

  constructor(volumes: VolumeAttacher | undefined, live: LiveContainers) {
    this.volumes = volumes;
    this.live = live;
  }

  /** Resolves the spec's mounts (creating missing volumes); none can be removed until release(). */
  async attach(spec: ContainerSpec): Promise<{ mounts: ContainerMount[]; release(): void }> {
    const inherited = (spec.volumesFrom ?? []).map((v) => ({ source: this.live.find(v.container).record, readOnly: v.readOnly }));
    const requests = mountRequests(spec.mounts ?? [], inherited);
    if (requests.length === 0) return { mounts: [], release: () => undefined };
    if (!this.volumes) throw invalid('this VCH has no volume store');
    return this.volumes.attach(requests);
  }

  disksOf(record: ContainerRecord): VmVolume[] {
    return (record.mounts ?? []).map((m) => ({ disk: this.volumes!.diskOf(m.volume), target: m.target, readOnly: m.readOnly, copyUp: m.copyUp }));
  }

  /** Removes the anonymous ones among these mounts' volumes that nothing uses any more. */
  removeAnonymous(mounts: ContainerMount[]): void {
    this.volumes?.removeAnonymousIfUnused(mounts.filter((m) => m.anonymous).map((m) => m.volume));
  }

  /** Which containers (any state) mount volume `name`: what makes a volume "in use". */
  usersOf(name: string): string[] {
    return this.live.all().filter((e) => e.record.mounts?.some((m) => m.volume === name)).map((e) => e.record.id);
  }
}
