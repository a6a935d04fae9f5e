// `bonneville vch serve`: runs one VCH's engine in the foreground on the embedded defaults.
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEngine } from '../../engine/engine.ts';
import { QemuBackend } from '../../backends/qemu/backend.ts';
import { findGuestArtifacts } from '../../backends/qemu/guest-artifacts.ts';
import { chooseAccelerator } from '../../backends/qemu/accel-probe.ts';
import { readTscKhz } from '../../backends/qemu/host.ts';
import { DiskImageStore } from '../../portlayer/images/store.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export async function vchServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string', default: 'default' },
      datastore: { type: 'string' },
      socket: { type: 'string' },
      guest: { type: 'string', default: join(repoRoot, 'build/guest') },
      qemu: { type: 'string', default: 'qemu-system-x86_64' },
      accel: { type: 'string' },
      memory: { type: 'string', default: '256' },
      cpus: { type: 'string', default: '1' },
      'boot-timeout': { type: 'string', default: '60' },
    },
  });
  const name = values.name!;
  const datastore = resolve(values.datastore ?? `/var/lib/bonneville/${name}`);
  const socket = resolve(values.socket ?? `/run/bonneville/${name}/docker.sock`);
  mkdirSync(datastore, { recursive: true });
  const guest = findGuestArtifacts(values.guest!);
  const tscKhz = readTscKhz();
  const accel = await chooseAccelerator({
    qemuBinary: values.qemu!,
    guest,
    tscKhz,
    // /run is per host boot, like the answer: every VCH on this host shares one probe.
    cacheFile: '/run/bonneville/accelerator.json',
    forced: values.accel ?? process.env.BONNEVILLE_ACCEL,
  });
  const backend = new QemuBackend({
    qemuBinary: values.qemu!,
    kernel: guest.kernel,
    initrd: guest.initrd,
    kernelVersion: guest.kernelVersion,
    accel: accel.accel,
    accelReason: accel.reason,
    tscKhz,
    bootTimeoutSeconds: Number(values['boot-timeout']),
  });
  const images = new DiskImageStore({ root: join(datastore, 'images') });
  const engine = await startEngine({
    name,
    datastore,
    backend,
    images,
    socket,
    defaultMemoryMiB: Number(values.memory),
    defaultCpus: Number(values.cpus),
  });
  console.error(`bonneville: VCH '${name}' serving on unix://${socket} (qemu, ${accel.accel}: ${accel.reason})`);
  const shutdown = () => {
    // Container VMs keep running: a later engine adopts them.
    void engine.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
