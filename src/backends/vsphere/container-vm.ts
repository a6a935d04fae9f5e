// A container VM (VIC's model): named `<name>-<shortid>` in the VCH's folder and pool, with a
// paravirtual SCSI controller, the image's layer disks read-only below a per-container child disk
// (the writable layer), volume disks, one NIC per network on that network's DV port group, the
// tether's serial port connected out to the VCH, and the container's identity and config in
// extraConfig (`guestinfo.bonneville.*`, readable by the tether through the VMware backdoor).
import type { VimClient } from '../../vim25/session.ts';
import { createVM, destroyVM, disk, dvsNic, powerOff, powerOn, reconfigureVM, removeDevice, scsiController, serialPortURI, virtualMachineInfo } from '../../vim25/virtual-machine.ts';
import { findChild } from '../../vim25/inventory.ts';
import { DuplicateNameFault } from '../../vim25/faults.ts';
import type { DeviceChange, ManagedObjectReference, VirtualMachineInfo } from '../../vim25/types.ts';
import type { VchPlacement } from './vch-pool.ts';

export const GUESTINFO = 'guestinfo.bonneville.';
/** extraConfig keys Bonneville owns. */
export const KEY_ID = `${GUESTINFO}id`;
export const KEY_NAME = `${GUESTINFO}name`;
export const KEY_VCH = `${GUESTINFO}vch`;
export const KEY_CONFIG = `${GUESTINFO}config`;

export interface ContainerNic {
  portgroupKey: string;
  macAddress?: string;
}

export interface ContainerVmSpec {
  id: string;
  name: string;
  cpus: number;
  memoryMB: number;
  datastore: string;
  /** The container's writable child disk to create, `[ds] path.vmdk`. */
  writableDisk: string;
  /** Capacity of the writable disk (KB). */
  writableSizeKB: number;
  /** The image's top layer disk, parent of the writable disk (its chain below it is the layer's). */
  imageDisk?: string;
  /** Existing volume disks, attached independent-persistent (not part of snapshots or the chain). */
  volumeDisks: string[];
  nics: ContainerNic[];
  /** Where the tether's serial port connects, e.g. `tcp://10.0.0.5:2377`. */
  tetherURI: string;
  /** The container config the tether reads (JSON), and other guestinfo values. */
  config: unknown;
}

const ID = /^[0-9a-f]{12,64}$/;
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `<name>-<first 12 of id>`: names stay readable in the vSphere client and unique per VCH. */
export function containerVmName(name: string, id: string): string {
  return `${name}-${id.slice(0, 12)}`;
}

function deviceChanges(spec: ContainerVmSpec, switchUuid: string): DeviceChange[] {
  const changes: DeviceChange[] = [scsiController(-100)];
  let unit = 0;
  let key = -101;
  changes.push(disk({ key: key--, controllerKey: -100, unitNumber: unit++, fileName: spec.writableDisk, create: true, capacityKB: spec.writableSizeKB, parentFileName: spec.imageDisk }));
  for (const v of spec.volumeDisks) {
    if (unit === 7) unit++; // unit 7 is the controller's own
    changes.push(disk({ key: key--, controllerKey: -100, unitNumber: unit++, fileName: v, create: false, diskMode: 'independent_persistent' }));
  }
  changes.push(serialPortURI(key--, spec.tetherURI, 'client'));
  for (const n of spec.nics) changes.push(dvsNic({ key: key--, portgroupKey: n.portgroupKey, switchUuid, macAddress: n.macAddress }));
  return changes;
}

/** Creates the VM (powered off). The writable disk is created with it; layer and volume disks must exist. */
export async function createContainerVm(client: VimClient, vch: VchPlacement, switchUuid: string, spec: ContainerVmSpec): Promise<ManagedObjectReference> {
  if (!ID.test(spec.id)) throw new Error(`invalid container id ${JSON.stringify(spec.id)}`);
  if (!CONTAINER_NAME.test(spec.name)) throw new Error(`invalid container name ${JSON.stringify(spec.name)}`);
  if (spec.volumeDisks.length > 14) throw new Error('at most 14 volumes per container VM (one SCSI controller)');
  const name = containerVmName(spec.name, spec.id);
  // vCenter refuses a duplicate name in a folder, vcsim 0.24 does not: check, so both behave alike.
  const existing = await findChild(client, vch.folder, name);
  if (existing) throw new DuplicateNameFault('DuplicateName', `a VM named ${name} already exists in VCH ${vch.name}`, { name, object: existing });
  return createVM(client, {
    folder: vch.folder,
    pool: vch.pool,
    spec: {
      name,
      guestId: 'otherLinux64Guest',
      files: { vmPathName: `[${spec.datastore}]` },
      numCPUs: spec.cpus,
      memoryMB: spec.memoryMB,
      deviceChange: deviceChanges(spec, switchUuid),
      extraConfig: {
        [KEY_ID]: spec.id,
        [KEY_NAME]: spec.name,
        [KEY_VCH]: vch.name,
        [KEY_CONFIG]: JSON.stringify(spec.config),
      },
    },
  });
}

/** Replaces the config the tether reads (e.g. after `docker update` or a rename). */
export async function updateContainerConfig(client: VimClient, vm: ManagedObjectReference, values: Record<string, string>): Promise<void> {
  for (const k of Object.keys(values)) if (!k.startsWith(GUESTINFO)) throw new Error(`${k} is not a ${GUESTINFO}* key`);
  await reconfigureVM(client, vm, { extraConfig: values });
}

export async function startContainerVm(client: VimClient, vm: ManagedObjectReference): Promise<void> {
  await powerOn(client, vm);
}

/** Hard power-off (the tether's orderly stop goes over its channel first). */
export async function stopContainerVm(client: VimClient, vm: ManagedObjectReference): Promise<void> {
  const info = await virtualMachineInfo(client, vm);
  if (info.powerState !== 'poweredOff') await powerOff(client, vm);
}

/** Powers off if needed and destroys the VM with its files (writable disk included). */
export async function removeContainerVm(client: VimClient, vm: ManagedObjectReference): Promise<void> {
  await stopContainerVm(client, vm);
  // Volume disks are attached independent-persistent but Destroy_Task deletes every attached disk:
  // detach them first so volumes outlive the container.
  const info = await virtualMachineInfo(client, vm);
  const volumes = info.devices.filter((d) => d.type === 'VirtualDisk' && d.diskMode === 'independent_persistent');
  if (volumes.length) await reconfigureVM(client, vm, { deviceChange: volumes.map((d) => removeDevice(d)) });
  await destroyVM(client, vm);
}

export function containerId(info: VirtualMachineInfo): string | undefined {
  return info.extraConfig[KEY_ID];
}
