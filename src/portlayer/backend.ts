// The port layer's view of a hypervisor: boot a container VM from a neutral description, re-adopt it
// after an engine restart, and read the output it recorded. Nothing QEMU- or vSphere-specific here.

import type { Readable } from 'node:stream';
import type { DiskRef, DiskStore } from './disks.ts';

export interface ProcessSpec {
  /** Entrypoint + Cmd, already combined. */
  argv: string[];
  env: string[];
  workingDir: string;
  user: string;
  /** Supplementary groups added to the user's (GroupAdd): names or gids. */
  groups?: string[];
  tty: boolean;
  openStdin: boolean;
  rows?: number;
  cols?: number;
}

/** A container's /etc/resolv.conf. */
export interface VmDns {
  servers: string[];
  search: string[];
  options: string[];
}

export interface ContainerVmSpec {
  id: string;
  /** The container's name (Docker's, without the slash): what a hypervisor's inventory may show. */
  name?: string;
  /** The container's directory in the datastore: the backend keeps its VM files here (teardown removes them). */
  dir: string;
  hostname: string;
  domainname: string;
  /** Read-only layer disks, bottom first. */
  layerDisks: DiskRef[];
  /** The container's writable disk (DiskStore.createContainerDisk). */
  writableDisk: DiskRef;
  process: ProcessSpec;
  memoryMiB: number;
  cpus: number;
  /** The container's network interfaces, in order (eth0 first); absent or empty: loopback only. */
  nics?: VmNic[];
  /** Lines of the container's /etc/hosts; absent: localhost and the container's own hostname. */
  hosts?: string[];
  /**
   * The ports the container publishes (-p, -P), as bound at this start. The port layer forwards them
   * from the engine's host; a backend whose VMs sit where that host cannot reach may give the VM a
   * way in of its own (vSphere: a NIC on the VCH's public network).
   */
  ports?: Array<{ containerPort: number; protocol: 'tcp' | 'udp'; hostIp: string; hostPort: number }>;
  /** The container's resolv.conf; absent: the image's own. */
  dns?: VmDns;
  /** Volume disks (DiskStore.createVolumeDisk) and where the guest mounts them; one disk may serve several targets. */
  volumes?: VmVolume[];
  /** Host directories shared into the VM (capability `hostDirectories`), mounted at their targets. */
  hostDirectories?: VmHostDirectory[];
  /**
   * The container goes with its process (`--rm`): its writable disk is destroyed right after the
   * exit, so the guest need not flush it first.
   */
  discardDisksOnExit?: boolean;
}

/** A directory of the VCH host the container sees at target (Docker's bind mount). */
export interface VmHostDirectory {
  /** Absolute, existing directory on the host. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  /** Enforced on the host side too: the guest cannot write through it whatever it does. */
  readOnly: boolean;
}

/** A volume disk mounted in the container. */
export interface VmVolume {
  disk: DiskRef;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
  /** When the volume is empty, fill it with what the image has at target first (Docker's copy-up). */
  copyUp: boolean;
}

/** One network interface of a container VM, on one network (NetworkPlumbing.ensureNetwork). */
export interface VmNic {
  networkId: string;
  /** "02:42:0a:00:00:02" */
  mac: string;
  /** IPv4 address with prefix, "10.89.0.2/24". */
  address: string;
  /** Default route via this address; absent on internal networks. */
  gateway?: string;
}

/**
 * The host side of container networks: one isolated L2 segment per network, with the gateway
 * address on the host. The backend plugs each VM's NICs into it (VmNic.networkId).
 */
export interface NetworkPlumbing {
  /** IPv4 subnets (CIDR) the host routes already: a new network must not overlap them. */
  hostSubnets(): Promise<string[]>;
  /** Creates the segment (or adopts the one an earlier engine made); idempotent. */
  ensureNetwork(net: { id: string; subnet: string; gateway: string; internal: boolean; external?: string }): Promise<void>;
  removeNetwork(id: string, subnet: string): Promise<void>;
  /** At engine start: removes this VCH's segments not in keep, and interfaces no running VM holds. */
  sweep(keep: Array<{ id: string; subnet: string }>): Promise<void>;
  /** For `docker info`/logs: what this host side cannot do (e.g. no outbound NAT). */
  describe(): string;
}

export interface ExitStatus {
  code: number;
  /** Set when the container's process could not start, or the VM died without reporting an exit. */
  error?: string;
}

/**
 * Another process in a running container (`docker exec`): the same shape, read differently — `env`
 * is added to the container's environment, and an empty workingDir or user means the container's.
 */
export type ExecProcessSpec = ProcessSpec;

export interface ExecSession {
  readonly pid: number;
  /** Output until the process exits (a tty's output counts as stdout). */
  readonly output: AsyncIterable<{ stream: 'stdout' | 'stderr'; data: Buffer }>;
  stdin(data: Buffer): void;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  signal(signo: number): void;
  readonly exited: Promise<number>;
}

/**
 * What a container VM uses right now (for `docker stats`): seen from the host (qemu: its QEMU process)
 * or reported by the guest (vSphere: the tether reads the guest's /proc).
 */
export interface VmUsage {
  /** CPU time the VM has used, in nanoseconds. */
  cpuNs: number;
  /**
   * The total CPU time (all CPUs, idle included) cpuNs is a share of, in nanoseconds: the host's when
   * cpuNs is the VM's process, the guest's when the guest counted it.
   */
  systemCpuNs: number;
  /** The CPUs systemCpuNs is counted over. */
  onlineCpus: number;
  /** Memory the VM uses: resident on the host, or in use inside the guest. */
  memoryBytes: number;
  /** What memoryBytes is a share of when the backend knows it (the guest's MemTotal); else the VM's configured size. */
  memoryLimitBytes?: number;
}

/**
 * Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header): `mode` is Go's os.FileMode
 * (permission bits plus type bits such as 1<<31 for a directory), which the docker CLI decodes.
 */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  /** RFC 3339 */
  mtime: string;
  /** For a symlink: what it resolves to inside the container, absolute. */
  linkTarget: string;
}

export interface ArchiveWriteOptions {
  /** Refuse to replace a directory with a non-directory, or the reverse. */
  noOverwriteDirNonDir: boolean;
  /** Give everything the container user's uid and gid (`docker cp -a`). */
  copyUIDGID: boolean;
}

/** One process in a container, raw figures as /proc has them (formatting is the API's business). */
export interface GuestProcess {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Foreground process group of its terminal. */
  tpgid: number;
  /** "pts/0", "?" … */
  tty: string;
  uid: number;
  /** From the container's /etc/passwd, else the uid. */
  user: string;
  /** R, S, D, Z, T … */
  state: string;
  nice: number;
  threads: number;
  /** Unix seconds. */
  startTime: number;
  cpuSeconds: number;
  vszKiB: number;
  rssKiB: number;
  /** argv joined by spaces, or "[comm]". */
  cmd: string;
}

export interface GuestProcessList {
  /** The guest's clock, unix seconds. */
  now: number;
  memTotalKiB: number;
  processes: GuestProcess[];
}

/**
 * A running container VM, as opaque to the port layer as the backend likes: nothing here is a host
 * process the port layer may signal or read.
 */
export interface VmHandle {
  /**
   * What Docker shows as State.Pid: the backend's word (qemu: its QEMU process), reported as is and
   * never used by the port layer; 0 when the backend has nothing to show.
   */
  readonly reportedPid: number;
  stdin(data: Buffer): void;
  closeStdin(): void;
  signal(signo: number): void;
  resize(rows: number, cols: number): void;
  /** Stops the VM at once without asking the guest (the hypervisor process is killed). */
  kill(): Promise<void>;
  usage(): Promise<VmUsage>;
  /** Starts another process in the container; rejects with ProcessStartError when it cannot start. */
  exec(spec: ExecProcessSpec): Promise<ExecSession>;
  /** The container's processes, read inside the guest (`docker top`). */
  processes(): Promise<GuestProcessList>;
  /** Docker's stat of a path in the container; rejects NotFound when there is nothing there. */
  statPath(path: string): Promise<PathStat>;
  /** A tar of what `path` names (Docker's archive rules), streamed with backpressure. */
  readArchive(path: string): Promise<{ stat: PathStat; tar: Readable }>;
  /** Extracts a tar into the directory `path` names; settles once everything is written. */
  writeArchive(path: string, tar: Readable, options: ArchiveWriteOptions): Promise<void>;
  /** Replaces the running container's /etc/hosts (peers came or went on its networks); the network service awaits it. */
  updateHosts?(lines: string[]): void | Promise<void>;
  /**
   * Gives the running VM a NIC on one more network, configured in the guest before this resolves
   * (`docker network connect`); the network's host side exists. Absent: the backend cannot.
   */
  attachNic?(nic: VmNic): Promise<void>;
  /** Removes the running VM's NIC on this network, in the guest and on the host (`docker network disconnect`). */
  detachNic?(networkId: string): Promise<void>;
  /** Freezes the VM: its CPUs stop, its memory and devices stay (`docker pause`). Capability `pause`. */
  pause?(): Promise<void>;
  /** Lets a paused VM run again; the guest's wall clock is brought back to the host's. Capability `pause`. */
  resume?(): Promise<void>;
  /** Whether the hypervisor has the VM frozen now (read at re-adoption: a pause outlives the engine). Capability `pause`. */
  isPaused?(): Promise<boolean>;
  /**
   * The address of the VM's own way in for published ports (vSphere: its NIC on the public network,
   * from that network's DHCP), without prefix; undefined while it has none or the backend gives none.
   * The published ports are then reached at this address on their host ports.
   */
  publicAddress?(): string | undefined;
  /** Settles once the VM is gone, with the process's exit status. */
  readonly exited: Promise<ExitStatus>;
  /**
   * Settles with the exit status as soon as the guest reported it and the VM runs no more guest code
   * (qemu: the EXIT frame came and QEMU was killed), while its hypervisor process may still be on its
   * way out; at the latest with `exited`. Absent: only `exited` says. An --rm container's waiters are
   * answered from here; anything that needs the VM's resources free (its disks) waits for `exited`.
   */
  readonly exitReported?: Promise<ExitStatus>;
  /**
   * The backend's own steps of the VM's end, once `exited` settled: each a name and the
   * performance.now() it was reached at, the first when the backend learnt of the exit. For the exit's
   * phase log (the bench reads it); absent: the backend does not say.
   */
  exitMarks?(): ExitMark[];
  /** The guest's own steps of the end, as it timed them (ms each, in order), once it reported the exit; absent: none. */
  exitGuestSteps?(): Array<[name: string, ms: number]>;
}

/** A named step of a VM's end and the performance.now() it was reached at. */
export type ExitMark = [name: string, at: number];

export interface OutputRecord {
  stream: 'stdout' | 'stderr';
  /** Unix time in nanoseconds when the guest produced the bytes. */
  timeNs: bigint;
  data: Buffer;
}

export interface LogReadOptions {
  /** Byte position in the log to start from (from logPosition()), 0 for the whole history. */
  from: number;
  /** Keep reading as the log grows, until the process exits or the signal aborts. */
  follow: boolean;
  signal?: AbortSignal;
}

export interface BackendInfo {
  name: string;
  /** e.g. "tcg" or "kvm" */
  accelerator: string;
  /** Human-readable lines for `docker info`. */
  details: Array<[string, string]>;
  kernelVersion: string;
}

/** Raised by boot() when the VM came up but the process could not start (Docker's exit codes 125–127). */
export class ProcessStartError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/**
 * What a backend can do beyond the core (boot, adopt, kill, exec, files of a running VM, output).
 * The port layer answers Docker's requests for what is missing with a clear error (501 or 409).
 */
export interface BackendCapabilities {
  /** Its VMs can be frozen and thawed (VmHandle.pause/resume/isPaused): `docker pause`. */
  pause: boolean;
  /** A stopped container's files can be reached without a VM (DiskStore.files): `docker cp`, `export`, `diff`, `commit`. */
  stoppedContainerFiles: boolean;
  /** Host directories can be shared into VMs (ContainerVmSpec.hostDirectories): Docker's bind mounts. */
  hostDirectories?: boolean;
  /** The smallest VM (MiB) whose guest kernel boots: a container asking for less is refused at create. */
  minimumMemoryMiB?: number;
}

export interface Backend {
  info(): BackendInfo;
  readonly capabilities: BackendCapabilities;
  /** The disks of layers, containers and volumes. */
  readonly disks: DiskStore;
  /** Container networking on this host; absent: VMs get loopback only. */
  readonly networks?: NetworkPlumbing;
  /** Boots the VM and starts the process; resolves once the process runs. On failure no VM is left. */
  boot(spec: ContainerVmSpec): Promise<VmHandle>;
  /** Re-attaches to a VM started by an earlier engine; undefined when it is no longer running. */
  adopt(id: string, dir: string): Promise<VmHandle | undefined>;
  /**
   * Removes what the backend keeps for a container that is gone for good (its VM's files, records and
   * output), once its VM is gone; the disks are the disk store's. Idempotent: a second call finds nothing.
   */
  teardown(id: string, dir: string): Promise<void>;
  /** The end of the container's output log now: a reader starting here sees only what comes next. */
  logPosition(dir: string): number;
  readLogs(dir: string, options: LogReadOptions): AsyncIterable<OutputRecord>;
  /** The last exit the log recorded after its last start, if any: how a VM that died while no engine ran ended. */
  lastRecordedExit(dir: string): Promise<ExitStatus | undefined>;
}
