// Plugs a container's disks into a VM restored from a template, over QMP: a block node per disk
// file, then a SCSI disk on the controller every VM has (cmdline.ts). Same target numbering, serials
// and cache settings as a cold boot's command line, so the guest cannot tell the two apart.
import type { VmDisk } from './cmdline.ts';
import { SCSI_CONTROLLER } from './cmdline.ts';
import type { QmpClient } from './qmp.ts';

/** `first`: the SCSI target (and node number) of disks[0], when the VM has the ones before it already. */
export async function plugDisks(qmp: QmpClient, disks: VmDisk[], first = 0): Promise<void> {
  for (const [j, disk] of disks.entries()) {
    const i = first + j;
    const discard = disk.readOnly ? 'ignore' : 'unmap';
    await qmp.execute('blockdev-add', {
      driver: 'raw',
      'node-name': `disk${i}`,
      'read-only': disk.readOnly,
      discard,
      // cache=writeback of the command line: host page cache, guest flushes honoured.
      cache: { direct: false, 'no-flush': false },
      file: { driver: 'file', filename: disk.path, aio: 'threads', discard },
    });
    await qmp.execute('device_add', {
      driver: 'scsi-hd',
      id: `scsi-disk${i}`,
      bus: `${SCSI_CONTROLLER}.0`,
      'scsi-id': i,
      lun: 0,
      drive: `disk${i}`,
      serial: disk.serial,
      'write-cache': 'on',
    });
  }
}
