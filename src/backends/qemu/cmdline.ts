// The QEMU command line for one container VM: microvm + PVH direct boot of the guest kernel, the
// tether's two virtio-serial ports, one virtio-blk disk per image layer / writable disk / volume.
// Pure: the caller spawns `qemu-system-x86_64` with these arguments (detached, no -daemonize).

export interface VmDisk {
  /** virtio-blk serial; the tether finds disks by it (max 20 bytes in virtio-blk). */
  serial: string;
  path: string;
  readOnly: boolean;
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
}

export const CONTROL_PORT_NAME = 'bonneville.control';
export const LOG_PORT_NAME = 'bonneville.log';

/**
 * virtio-mmio devices a microvm can use. QEMU 7.2's microvm has 24 transports with its second IO-APIC
 * (on by default; 8 without), but measured with all 24 in use the first device, the tether's serial
 * controller, never came up; 23 worked.
 */
export const MAX_VIRTIO_DEVICES = 23;
/** Non-disk virtio devices: the serial controller, plus one network card reserved for later. */
const RESERVED_VIRTIO_DEVICES = 2;

// Each option here was measured to shorten a TCG boot (docs in /work/shared/notes/microvm-facts.md):
// no hardware probing the VM does not have, no self-tests, no randomisation.
const KERNEL_ARGS = [
  'console=ttyS0', 'panic=-1', 'reboot=t', 'quiet', 'mitigations=off', 'tsc=reliable', 'no_timer_check',
  'cryptomgr.notests', 'init_on_alloc=0', 'audit=0', 'apparmor=0', 'ima_appraise=off', 'nokaslr',
  'random.trust_cpu=on', '8250.nr_uarts=1', 'i8042.noaux', 'i8042.nokbd', 'i8042.nopnp', 'pci=off',
];

export function buildQemuArgs(spec: VmSpec): string[] {
  validate(spec);
  const args = [
    '-name', `${spec.name},debug-threads=on`,
    '-M', 'microvm,x-option-roms=off',
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
  ];
  spec.disks.forEach((disk, i) => {
    // Raw images through the host page cache: guest flushes become fsync (crash consistent, unlike
    // cache=unsafe), it works on any filesystem (unlike O_DIRECT on tmpfs), and VMs reading the same
    // layer share its cached pages.
    const drive = [
      `id=disk${i}`, `file=${opt(disk.path)}`, 'if=none', 'format=raw', 'cache=writeback', 'aio=threads',
      `readonly=${disk.readOnly ? 'on' : 'off'}`,
    ];
    if (!disk.readOnly) drive.push('discard=unmap');
    args.push('-drive', drive.join(','));
    args.push('-device', `virtio-blk-device,drive=disk${i},serial=${opt(disk.serial)}`);
  });
  return args;
}

function validate(spec: VmSpec): void {
  if (spec.disks.length + RESERVED_VIRTIO_DEVICES > MAX_VIRTIO_DEVICES) {
    throw new RangeError(`a VM takes at most ${MAX_VIRTIO_DEVICES - RESERVED_VIRTIO_DEVICES} disks, got ${spec.disks.length}`);
  }
  const serials = new Set<string>();
  for (const disk of spec.disks) {
    if (!/^[A-Za-z0-9._-]{1,20}$/.test(disk.serial)) {
      throw new RangeError(`invalid disk serial ${JSON.stringify(disk.serial)} (1-20 of [A-Za-z0-9._-])`);
    }
    if (serials.has(disk.serial)) throw new RangeError(`duplicate disk serial ${disk.serial}`);
    serials.add(disk.serial);
  }
  if (!(spec.tscKhz > 0)) throw new RangeError('tscKhz must be positive');
  if (!(spec.memoryMiB >= 32) || !(spec.cpus >= 1)) throw new RangeError('memoryMiB must be ≥ 32 and cpus ≥ 1');
}

/** QEMU option values are comma-separated; a literal comma is written twice. */
function opt(value: string): string {
  return value.replaceAll(',', ',,');
}
