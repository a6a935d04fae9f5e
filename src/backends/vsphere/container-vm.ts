// A container VM (VIC's model): named `<name>-<shortid>` in the VCH's folder and pool, with a
// paravirtual SCSI controller, the image's layer disks read-only below a per-container child disk
// (the writable layer), volume disks, one NIC per network on that network's DV port group, the
// tether's serial port connected out to the VCH, the bootstrap ISO as a CD-ROM booted first, its BIOS
// UUID from the container id (the tether names itself by it on the line), and the container's identity
// and config in extraConfig (`guestinfo.bonneville.*`, for administrators and re-adoption; the tether
// gets its CONFIG over the line).
import type { VimClient } from '../../vim25/session.ts';
import { cdromIso, createVM, destroyVM, disk, dvsNic, powerOff, powerOn, reconfigureVM, removeDevice, scsiController, serialPortURI, virtualMachineInfo } from '../../vim25/virtual-machine.ts';
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
  /** The port group's switch, when not the VCH's (an existing port group elsewhere). */
  switchUuid?: string;
  macAddress?: string;
}

export interface ContainerVmSpec {
  id: string;
  name: string;
  cpus: number;
  memoryMB: number;
  datastore: string;
  /** The container's writable disk, `[ds] path.vmdk`: created with the VM (a child of imageDisk), or existing. */
  writableDisk: string;
  /** Capacity of a writable disk created with the VM (KB). */
  writableSizeKB?: number;
  /** True: the writable disk exists already (the port layer's disk store made it) and is attached as is. */
  writableExists?: boolean;
  /** The image's top layer disk, parent of the writable disk (its chain below it is the layer's). */
  imageDisk?: string;
  /**
   * Layer disks attached one by one, bottom first, each independent-nonpersistent: the guest reads
   * them and stacks them itself (docs/tether-protocol.md), and nothing it writes reaches the shared file.
   */
  layerDisks?: string[];
  /** Existing volume disks, attached independent-persistent (not part of snapshots or the chain). */
  volumeDisks: string[];
  nics: ContainerNic[];
  /** Where the tether's serial port connects, e.g. `tcp://10.0.0.5:2377`; 'none': no serial port. */
  tetherURI: string;
  /** The container config the tether reads (JSON), and other guestinfo values. */
  config: unknown;
  /** The boot medium, `[ds] path.iso` (boot-iso.ts): a CD-ROM the VM boots from. */
  bootIso?: string;
}

/**
 * The VM's BIOS UUID: the container id's first 32 hex digits. The guest reads it (SMBIOS) and names
 * itself by it on the tether's line (tether-listener.ts).
 */
export function vmUuid(id: string): string {
  const h = id.slice(0, 32).toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const ID = /^[0-9a-f]{12,64}$/;
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `<name>-<first 12 of id>`: names stay readable in the vSphere client and unique per VCH. */
export function containerVmName(name: string, id: string): string {
  return `${name}-${id.slice(0, 12)}`;
}

/** Where each disk sits: SCSI controllers of 15 disks each (unit 7 is the controller's own). */
export interface DiskSlot {
  bus: number;
  unit: number;
}

const MAX_CONTROLLERS = 4;

function deviceChanges(spec: ContainerVmSpec, switchUuid: string): { changes: DeviceChange[]; slots: DiskSlot[] } {
  const changes: DeviceChange[] = [];
  const slots: DiskSlot[] = [];
  let key = -200;
  const next = (): { controllerKey: number; unitNumber: number } => {
    const index = slots.length;
    const bus = Math.floor(index / 15);
    if (bus >= MAX_CONTROLLERS) throw new Error(`a container VM takes at most ${15 * MAX_CONTROLLERS} disks (layers, writable, volumes)`);
    const within = index % 15;
    const unit = within >= 7 ? within + 1 : within;
    if (within === 0) changes.push(scsiController(-100 - bus, bus));
    slots.push({ bus, unit });
    return { controllerKey: -100 - bus, unitNumber: unit };
  };
  changes.push(disk({ key: key--, ...next(), fileName: spec.writableDisk, create: !spec.writableExists, capacityKB: spec.writableExists ? undefined : spec.writableSizeKB, parentFileName: spec.imageDisk }));
  for (const l of spec.layerDisks ?? []) changes.push(disk({ key: key--, ...next(), fileName: l, create: false, diskMode: 'independent_nonpersistent' }));
  for (const v of spec.volumeDisks) changes.push(disk({ key: key--, ...next(), fileName: v, create: false, diskMode: 'independent_persistent' }));
  if (spec.tetherURI !== 'none') changes.push(serialPortURI(key--, spec.tetherURI, 'client'));
  if (spec.bootIso) changes.push(cdromIso(key--, spec.bootIso));
  for (const n of spec.nics) changes.push(dvsNic({ key: key--, portgroupKey: n.portgroupKey, switchUuid: n.switchUuid ?? switchUuid, macAddress: n.macAddress }));
  return { changes, slots };
}

/** The SCSI slots createContainerVm gives the disks: writable first, then layers bottom first, then volumes. */
export function diskSlots(count: number): DiskSlot[] {
  const out: DiskSlot[] = [];
  for (let i = 0; i < count; i++) {
    const within = i % 15;
    out.push({ bus: Math.floor(i / 15), unit: within >= 7 ? within + 1 : within });
  }
  return out;
}

/** Creates the VM (powered off). The writable disk is created with it; layer and volume disks must exist. */
export async function createContainerVm(client: VimClient, vch: VchPlacement, switchUuid: string, spec: ContainerVmSpec): Promise<ManagedObjectReference> {
  if (!ID.test(spec.id)) throw new Error(`invalid container id ${JSON.stringify(spec.id)}`);
  if (!CONTAINER_NAME.test(spec.name)) throw new Error(`invalid container name ${JSON.stringify(spec.name)}`);
  const name = containerVmName(spec.name, spec.id);
  // vCenter refuses a duplicate name in a folder, vcsim 0.24 does not: check, so both behave alike.
  const existing = await findChild(client, vch.folder, name);
  if (existing) throw new DuplicateNameFault('DuplicateName', `a VM named ${name} already exists in VCH ${vch.name}`, { name, object: existing });
  return createVM(client, {
    folder: vch.folder,
    pool: vch.pool,
    spec: {
      name,
      uuid: ID.test(spec.id) && spec.id.length >= 32 ? vmUuid(spec.id) : undefined,
      guestId: 'otherLinux64Guest',
      files: { vmPathName: `[${spec.datastore}]` },
      numCPUs: spec.cpus,
      memoryMB: spec.memoryMB,
      deviceChange: deviceChanges(spec, switchUuid).changes,
      extraConfig: {
        [KEY_ID]: spec.id,
        [KEY_NAME]: spec.name,
        [KEY_VCH]: vch.name,
        [KEY_CONFIG]: JSON.stringify(spec.config),
      },
      bootOrder: spec.bootIso ? ['cdrom'] : undefined,
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

/**
 * Powers off if needed and destroys the VM with its files. `keep`: which disks to detach first so they
 * outlive the VM — volumes (attached independent-persistent), or every disk (the port layer's disk
 * store owns them all: shared layers, the writable disk, volumes).
 */
export async function removeContainerVm(client: VimClient, vm: ManagedObjectReference, keep: 'volumes' | 'all-disks' = 'volumes'): Promise<void> {
  await stopContainerVm(client, vm);
  // Destroy_Task deletes every attached disk on vCenter: detach those that must survive.
  const info = await virtualMachineInfo(client, vm);
  const kept = info.devices.filter((d) => d.type === 'VirtualDisk' && (keep === 'all-disks' || d.diskMode === 'independent_persistent'));
  if (kept.length) await reconfigureVM(client, vm, { deviceChange: kept.map((d) => removeDevice(d)) });
  await destroyVM(client, vm);
}

export function containerId(info: VirtualMachineInfo): string | undefined {
  return info.extraConfig[KEY_ID];
}
