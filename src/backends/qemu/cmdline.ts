// The QEMU command line for one container VM: microvm + PVH direct boot of the guest kernel, the
// tether's two virtio-serial ports, and one virtio-scsi controller carrying a SCSI disk per image
// layer / writable disk / volume. Pure: the caller spawns `qemu-system-x86_64` with these arguments
// (detached, no -daemonize).
//
// Why SCSI and not virtio-blk: a VM restored from a template (instant clone) must have exactly the
// template's devices, yet its disks are only known at start. virtio-mmio has no hot-plug, but a SCSI
// bus does: the template carries the empty controller and the host plugs the disks in after the
// restore (hotplug.ts). Cold boots put the same disks on the same bus from the command line, so the
// guest has one way to find its disks either way.

export interface VmDisk {
  /** SCSI unit serial (VPD page 0x80); the tether finds disks by it. */
  serial: string;
  path: string;
  readOnly: boolean;
}

/**
 * A virtio-net NIC. Its backend is a tap on the network's bridge, or (instant-clone template) a
 * placeholder: a clone gives the same device a tap on its own command line, netdevs not being part of
 * the saved state. `mac` only on cold boots: a clone keeps the template's and the tether sets its own.
 */
export interface VmNicArg {
  tap?: string;
  mac?: string;
}

export interface VmSpec {
  /** Shown in `ps` and QEMU's own messages. */
  name: string;
  /** Uncompressed PVH-capable vmlinux (build/guest/vmlinux). */
  kernel: string;
  initrd: string;
  memoryMiB: number;
  cpus: number;
  accel: 'kvm' | 'tcg';
  /** The host's TSC frequency; the guest needs it to skip TSC calibration (see host.ts). */
  tscKhz: number;
  disks: VmDisk[];
  /** Abstract unix socket name (no leading NUL) the control port listens on. */
  controlSocket: string;
  /** Abstract unix socket name for QMP. */
  qmpSocket: string;
  /** File receiving the log port's frames (appended across boots). */
  logFile: string;
  /** File receiving the serial console (kernel and tether messages). */
  consoleFile: string;
  pidFile: string;
  /**
   * Guest RAM in a file instead of anonymous memory (instant clone): a template maps it shared, so
   * its RAM ends up in the file; a clone maps the template's file privately (copy-on-write), so every
   * clone shares the template's pages until it writes to them.
   */
  memoryFile?: { path: string; shared: boolean };
  /** NICs in order: the first is `nic0` on netdev `net0`, after every other device. */
  nics?: VmNicArg[];
  /** Start paused, waiting for a migration stream over QMP (`-incoming defer`): a clone being restored. */
  incoming?: boolean;
  /**
   * Host directories over virtio-fs: a vhost-user-fs device per virtiofsd socket. vhost-user needs the
   * guest's RAM shared with virtiofsd, so these VMs get it from a shared memfd (never a clone's
   * private mapping; cold boots only, see virtiofs.ts).
   */
  fsShares?: Array<{ socket: string; tag: string }>;
}

export const CONTROL_PORT_NAME = 'bonneville.control';
export const LOG_PORT_NAME = 'bonneville.log';

/** The virtio-scsi controller's id; its bus is `${SCSI_CONTROLLER}.0`. */
export const SCSI_CONTROLLER = 'scsi0';
/**
 * Disks per VM: one SCSI target each (virtio-scsi offers 256). Disks do not use virtio-mmio
 * transports (microvm has 23 usable ones), so the limit is only a sanity bound.
 */
export const MAX_DISKS = 64;

// Each option here was measured to shorten a TCG boot (docs in /work/shared/notes/microvm-facts.md):
// no hardware probing the VM does not have, no self-tests, no randomisation.
const KERNEL_ARGS = [
  'console=ttyS0', 'panic=-1', 'reboot=t', 'quiet', 'mitigations=off', 'tsc=reliable', 'no_timer_check',
  'cryptomgr.notests', 'init_on_alloc=0', 'audit=0', 'apparmor=0', 'ima_appraise=off', 'nokaslr',
  'random.trust_cpu=on', '8250.nr_uarts=1', 'i8042.noaux', 'i8042.nokbd', 'i8042.nopnp', 'pci=off',
  // The kernel's own SCSI scan probes all 256 targets of the controller; the tether probes just the
  // container's disks (targets 0..n-1, see the -device scsi-hd lines below and hotplug.ts).
  'scsi_mod.scan=manual',
];

export function buildQemuArgs(spec: VmSpec): string[] {
  validate(spec);
  const args = [
    '-name', `${spec.name},debug-threads=on`,
    '-M', `microvm,x-option-roms=off${spec.memoryFile || spec.fsShares?.length ? ',memory-backend=mem' : ''}`,
    // A 32 MiB translation cache instead of TCG's default keeps ~20 MiB per VM that containers this
    // small never use.
    '-accel', spec.accel === 'tcg' ? 'tcg,tb-size=32' : 'kvm',
    '-cpu', spec.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(spec.cpus),
    '-m', `${spec.memoryMiB}M`,
    '-no-reboot', '-nodefaults', '-nographic', '-no-user-config',
    '-pidfile', spec.pidFile,
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', [...KERNEL_ARGS, `tsc_early_khz=${Math.round(spec.tscKhz)}`].join(' '),
    '-chardev', `file,id=console,path=${opt(spec.consoleFile)},append=on`,
    '-serial', 'chardev:console',
    '-chardev', `socket,id=qmp,path=${opt(spec.qmpSocket)},abstract=on,server=on,wait=off`,
    '-mon', 'chardev=qmp,mode=control',
    '-device', 'virtio-serial-device',
    '-chardev', `socket,id=control,path=${opt(spec.controlSocket)},abstract=on,server=on,wait=off`,
    '-device', `virtserialport,chardev=control,name=${CONTROL_PORT_NAME}`,
    '-chardev', `file,id=log,path=${opt(spec.logFile)},append=on`,
    '-device', `virtserialport,chardev=log,name=${LOG_PORT_NAME}`,
    // After the serial controller, so both take the same virtio-mmio transports in every VM.
    '-device', `virtio-scsi-device,id=${SCSI_CONTROLLER}`,
  ];
  (spec.nics ?? []).forEach((nic, i) => {
    // No /dev/vhost-net on these hosts, and a tap without vhost works everywhere: vhost=off.
    args.push('-netdev', nic.tap ? `tap,id=net${i},ifname=${opt(nic.tap)},script=no,downscript=no,vhost=off` : `hubport,id=net${i},hubid=${i}`);
    args.push('-device', `virtio-net-device,netdev=net${i},id=nic${i}${nic.mac ? `,mac=${nic.mac}` : ''}`);
  });
  if (spec.memoryFile) {
    args.push('-object', `memory-backend-file,id=mem,size=${spec.memoryMiB}M,mem-path=${opt(spec.memoryFile.path)},share=${spec.memoryFile.shared ? 'on' : 'off'}`);
  }
  if (spec.fsShares?.length) {
    if (spec.memoryFile) throw new RangeError('virtio-fs shares need shared anonymous memory, not a memory file');
    args.push('-object', `memory-backend-memfd,id=mem,size=${spec.memoryMiB}M,share=on`);
    // virtiofsd (libvhost-user) serves modern virtio only; microvm's virtio-mmio transports are legacy
    // unless told otherwise (the guest's virtio_mmio driver speaks both).
    args.push('-global', 'virtio-mmio.force-legacy=off');
    spec.fsShares.forEach((share, i) => {
      args.push('-chardev', `socket,id=fs${i},path=${opt(share.socket)}`);
      args.push('-device', `vhost-user-fs-device,chardev=fs${i},tag=${opt(share.tag)}`);
    });
  }
  if (spec.incoming) args.push('-incoming', 'defer');
  spec.disks.forEach((disk, i) => {
    // Raw images through the host page cache: guest flushes become fsync (crash consistent, unlike
    // cache=unsafe), it works on any filesystem (unlike O_DIRECT on tmpfs), and VMs reading the same
    // layer share its cached pages. hotplug.ts plugs disks with the same settings.
    const drive = [
      `id=disk${i}`, `file=${opt(disk.path)}`, 'if=none', 'format=raw', 'cache=writeback', 'aio=threads',
      `readonly=${disk.readOnly ? 'on' : 'off'}`,
    ];
    if (!disk.readOnly) drive.push('discard=unmap');
    args.push('-drive', drive.join(','));
    args.push('-device', `scsi-hd,bus=${SCSI_CONTROLLER}.0,scsi-id=${i},lun=0,drive=disk${i},serial=${opt(disk.serial)}`);
  });
  return args;
}

function validate(spec: VmSpec): void {
  if (spec.disks.length > MAX_DISKS) {
    throw new RangeError(`a VM takes at most ${MAX_DISKS} disks, got ${spec.disks.length}`);
  }
  const serials = new Set<string>();
  for (const disk of spec.disks) {
    if (!/^[A-Za-z0-9._-]{1,20}$/.test(disk.serial)) {
      throw new RangeError(`invalid disk serial ${JSON.stringify(disk.serial)} (1-20 of [A-Za-z0-9._-])`);
    }
    if (serials.has(disk.serial)) throw new RangeError(`duplicate disk serial ${disk.serial}`);
    serials.add(disk.serial);
  }
  for (const nic of spec.nics ?? []) {
    if (nic.mac !== undefined && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(nic.mac)) throw new RangeError(`invalid MAC ${nic.mac}`);
    if (nic.tap !== undefined && !/^[A-Za-z0-9_-]{1,15}$/.test(nic.tap)) throw new RangeError(`invalid tap name ${nic.tap}`);
  }
  if (!(spec.tscKhz > 0)) throw new RangeError('tscKhz must be positive');
  if (!(spec.memoryMiB >= 32) || !(spec.cpus >= 1)) throw new RangeError('memoryMiB must be ≥ 32 and cpus ≥ 1');
}

/** QEMU option values are comma-separated; a literal comma is written twice. */
function opt(value: string): string {
  return value.replaceAll(',', ',,');
}
