// Payloads of the CONFIG and EXEC frames (docs/tether-protocol.md).

export interface VolumeMount {
  /** SCSI serial of an ext4 disk; "" for a virtio-fs share (tag). */
  serial: string;
  /** virtio-fs tag of a host directory shared into the VM, instead of a disk. */
  tag?: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
  /** The volume is empty: copy what the container's image has at target into it before mounting. */
  copyUp: boolean;
}

/** One network interface: the tether finds it by MAC (cold boot) or takes the next unconfigured one (a clone, whose NIC still has the template's MAC) and sets the MAC first. */
export interface GuestNetwork {
  /** "02:42:0a:00:00:02" */
  mac: string;
  /** IPv4 addresses with prefix, "10.89.0.2/24". */
  addresses: string[];
  /** Default route via this address; "" for none. */
  gateway: string;
  /** Extra routes: destination CIDR via a gateway on this interface. */
  routes: Array<{ destination: string; gateway: string }>;
  /** The NIC's MAC as the VM was built (a clone's template MAC): the interface to take when none has `mac` yet. */
  slotMac?: string;
}

export interface ContainerConfig {
  /** 64-hex container id. */
  id: string;
  hostname: string;
  domainname: string;
  /** Host wall clock, unix ms: the tether sets the guest clock from it. */
  now: number;
  /** SCSI serials of the read-only layer disks, bottom layer first. */
  layers: string[];
  /** SCSI serial of the writable disk (ext4, already formatted). */
  rw: string;
  /** Entrypoint + cmd, already combined. */
  cmd: string[];
  env: string[];
  /** Created when missing, like Docker. */
  workingDir: string;
  /** "", "uid", "uid:gid", "name" or "name:group", resolved in the container's /etc/passwd and /etc/group. */
  user: string;
  /** Supplementary groups added for the process and its execs (GroupAdd): names or gids. */
  groups?: string[];
  tty: boolean;
  /** false: the process's stdin is /dev/null. */
  openStdin: boolean;
  /** Initial pty size when tty. */
  rows: number;
  cols: number;
  /** Lines of /etc/hosts. */
  hosts: string[];
  /** Nameservers for /etc/resolv.conf; the image's file is kept when all three are empty. */
  dns: string[];
  /** resolv.conf's `search` domains and `options`. */
  dnsSearch?: string[];
  dnsOptions?: string[];
  mounts: VolumeMount[];
  /** Network interfaces besides lo, in order; absent or empty: loopback only. */
  networks?: GuestNetwork[];
  /** Random bytes (base64) the tether feeds the guest kernel's RNG: clones of one template must not share its state. */
  seed?: string;
  /** The disks were hot-plugged (a restored VM): they announce themselves, the tether does not probe SCSI targets. */
  hotplugged?: boolean;
  /**
   * The container's disks are destroyed once its process ends (`--rm`, no volumes): after the exit the
   * tether skips syncing and unmounting them and reports EXIT at once.
   */
  ephemeral?: boolean;
  /**
   * The writable and volume disks may be blank (vSphere makes them empty): the tether formats a disk
   * with no filesystem (a volume gets its `data/`) before mounting it.
   */
  formatBlank?: boolean;
  /**
   * A NIC on the public network (vSphere's --public-network): the tether gets its address from that
   * network's DHCP and serves the published ports there (hostPort on that address → containerPort).
   */
  public?: PublicNetworkConfig;
}

export interface PublicNetworkConfig {
  /** The public NIC's MAC. */
  mac: string;
  ports: Array<{ hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' }>;
}

/** An extra process in the running container: the container's env plus `env`; empty fields inherit. */
export interface ExecConfig {
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  tty: boolean;
  openStdin: boolean;
  rows: number;
  cols: number;
}

export type TetherState = 'waiting' | 'running' | 'exited';

/** The HELLO reply. */
export interface TetherHello {
  version: number;
  /** On a shared serial line (vSphere): the VM's BIOS UUID as 32 hex digits, the container id's first 32. */
  id?: string;
  state: TetherState;
  pid?: number;
  exitCode?: number;
  /** A journaled line's tether (vSphere): this boot, which its log records name in STARTED. */
  boot?: string;
  /** A journaled line's tether: this HELLO's number, echoed by the RESUME that answers it. */
  seq?: number;
  /** The public network's leased address with its prefix ("10.1.2.3/24"), when the container has one. */
  publicAddress?: string;
}

/** RESUME: how much of this boot's log the engine's log file holds (the tether sends the rest). */
export interface TetherResume {
  seq: number;
  /** The log holds this boot's STARTED; the counts are of what follows it (else they are 0). */
  started: boolean;
  stdout: number;
  stderr: number;
  /** The log holds this boot's EXIT or ERROR: the tether takes it as acknowledged. */
  exited: boolean;
}
