// Containers' volumes as the volume store sees them: attached at create (volumesFrom included), turned
// into VM disks at boot, counted as users, and anonymous ones dropped with their container.
import type { VmVolume } from '../backend.ts';
import { invalid } from '../errors.ts';
import type { ContainerRecord, ContainerSpec } from './model.ts';
import type { ContainerMount, VolumeAttacher } from '../volumes/model.ts';
import { mountRequests } from './mounts.ts';
import { checkHostBinds } from './host-binds.ts';
import type { HostBind } from './host-binds.ts';
import type { LiveContainers } from './registry.ts';

export class ContainerVolumes {
  /** Absent: containers cannot have volumes. */
  private readonly volumes: VolumeAttacher | undefined;
  private readonly live: LiveContainers;

  constructor(volumes: VolumeAttacher | undefined, live: LiveContainers) {
    this.volumes = volumes;
    this.live = live;
  }

  /**
   * Resolves the spec's mounts (creating missing volumes) and host binds (checked, not created yet);
   * none of the volumes can be removed until release().
   */
  async attach(spec: ContainerSpec, hostDirectories: boolean): Promise<{ mounts: ContainerMount[]; binds: HostBind[]; release(): void }> {
    const inherited = (spec.volumesFrom ?? []).map((v) => ({ source: this.live.find(v.container).record, readOnly: v.readOnly }));
    const { requests, binds } = mountRequests(spec.mounts ?? [], inherited, spec.binds ?? []);
    if (binds.length > 0) {
      if (!hostDirectories) throw invalid("host directories cannot be bound into containers on this VCH's backend; use a volume instead");
      checkHostBinds(binds);
    }
    if (requests.length === 0) return { mounts: [], binds, release: () => undefined };
    if (!this.volumes) throw invalid('this VCH has no volume store');
    return { ...(await this.volumes.attach(requests)), binds };
  }

  disksOf(record: ContainerRecord): VmVolume[] {
    return (record.mounts ?? []).map((m) => ({ disk: this.volumes!.diskOf(m.volume), target: m.target, readOnly: m.readOnly, copyUp: m.copyUp }));
  }

  /** Removes the anonymous ones among these mounts' volumes that nothing uses any more. */
  async removeAnonymous(mounts: ContainerMount[]): Promise<void> {
    await this.volumes?.removeAnonymousIfUnused(mounts.filter((m) => m.anonymous).map((m) => m.volume));
  }

  /** Which containers (any state) mount volume `name`: what makes a volume "in use". */
  usersOf(name: string): string[] {
    return this.live.all().filter((e) => e.record.mounts?.some((m) => m.volume === name)).map((e) => e.record.id);
  }
}
