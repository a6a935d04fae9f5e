// The tether's CONFIG (docs/tether-protocol.md) for a container VM: the neutral ContainerVmSpec in the
// tether's words. Disks are named as the backend attached them (qemu: virtio serials).
import { randomBytes } from 'node:crypto';
import type { ContainerVmSpec } from '../../portlayer/backend.ts';
import type { ContainerConfig, VolumeMount } from '../../tether/config.ts';
import { guestNetworks } from './guest-networks.ts';

export interface GuestDiskNames {
  /** The layer disks as the guest finds them, bottom first. */
  layers: string[];
  /** The writable disk. */
  rw: string;
  /** The volume mounts, their disks named likewise. */
  mounts: VolumeMount[];
  /** Hot-plugged into a restored VM rather than on the command line. */
  hotplugged?: boolean;
}

export function tetherConfig(spec: ContainerVmSpec, disks: GuestDiskNames): ContainerConfig {
  const env = spec.process.env.some((e) => e.startsWith('HOSTNAME=')) ? spec.process.env : [...spec.process.env, `HOSTNAME=${spec.hostname}`];
  return {
    id: spec.id,
    hostname: spec.hostname,
    domainname: spec.domainname,
    now: Date.now(),
    // Clones of one template start with the same RNG state; the tether reseeds the kernel with this.
    seed: randomBytes(64).toString('base64'),
    layers: disks.layers,
    rw: disks.rw,
    cmd: spec.process.argv,
    env,
    workingDir: spec.process.workingDir,
    user: spec.process.user,
    groups: spec.process.groups ?? [],
    tty: spec.process.tty,
    openStdin: spec.process.openStdin,
    rows: spec.process.rows ?? 24,
    cols: spec.process.cols ?? 80,
    hosts: spec.hosts ?? ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.1.1\t${spec.hostname}`],
    dns: spec.dns?.servers ?? [],
    dnsSearch: spec.dns?.search ?? [],
    dnsOptions: spec.dns?.options ?? [],
    mounts: disks.mounts,
    networks: guestNetworks(spec.nics ?? []),
    ...(disks.hotplugged ? { hotplugged: true } : {}),
    ...(spec.discardDisksOnExit && disks.mounts.length === 0 ? { ephemeral: true } : {}),
  };
}
