// Virtual machines: the config spec builders for the devices a container VM has (SCSI controller,
// disks new / existing / child-of-parent, a serial port backed by a network URI for the tether, NICs
// on DV port groups), CreateVM_Task, ReconfigVM_Task, power operations, Destroy_Task, and reading a
// VM back (devices, extraConfig).
import type { VimClient } from './session.ts';
import { runTask } from './tasks.ts';
import { list, xsdString } from './xml.ts';
import { retrieveContained, retrieveOne, type ObjectContent } from './property-collector.ts';
import { ManagedObjectReference, type DeviceChange, type DeviceSpec, type PowerState, type VirtualDevice, type VirtualMachineInfo, type VmConfigSpec } from './types.ts';

// ---- device builders (new devices take negative keys; the server assigns real ones) ----

export function scsiController(key: number, busNumber = 0): DeviceChange {
  return { operation: 'add', device: { $type: 'ParaVirtualSCSIController', key, busNumber, sharedBus: 'noSharing' } };
}

export interface DiskOptions {
  key: number;
  controllerKey: number;
  unitNumber: number;
  /** Datastore path, `[ds] folder/name.vmdk`. */
  fileName: string;
  /** For a new disk. */
  capacityKB?: number;
  /** Make a new disk (true), or attach an existing file (false). */
  create: boolean;
  /** A child disk: writes go to fileName, reads fall through to this parent. */
  parentFileName?: string;
  diskMode?: 'persistent' | 'independent_persistent' | 'nonpersistent' | 'independent_nonpersistent';
}

export function disk(o: DiskOptions): DeviceChange {
  const mode = o.diskMode ?? 'persistent';
  const backing: Record<string, unknown> = { $type: 'VirtualDiskFlatVer2BackingInfo', fileName: o.fileName, diskMode: mode, thinProvisioned: true };
  if (o.parentFileName) backing.parent = { $type: 'VirtualDiskFlatVer2BackingInfo', fileName: o.parentFileName, diskMode: 'persistent' };
  const device: DeviceSpec = { $type: 'VirtualDisk', key: o.key, backing, controllerKey: o.controllerKey, unitNumber: o.unitNumber };
  if (o.capacityKB !== undefined) device.capacityInKB = o.capacityKB;
  return { operation: 'add', fileOperation: o.create ? 'create' : undefined, device };
}

/**
 * A CD-ROM with an ISO image from a datastore (`[ds] path.iso`), on the IDE controller every VM has
 * (key 200, ESXi's and vcsim's default): a container VM's boot medium.
 */
export function cdromIso(key: number, fileName: string, controllerKey = 200, unitNumber = 0): DeviceChange {
  return {
    operation: 'add',
    device: {
      $type: 'VirtualCdrom',
      key,
      backing: { $type: 'VirtualCdromIsoBackingInfo', fileName },
      connectable: { startConnected: true, allowGuestControl: false, connected: true },
      controllerKey,
      unitNumber,
    },
  };
}

/** A serial port connected to a network service (`tcp://host:port`, `telnet://…`): the tether's channel. */
export function serialPortURI(key: number, serviceURI: string, direction: 'client' | 'server' = 'client'): DeviceChange {
  return {
    operation: 'add',
    device: {
      $type: 'VirtualSerialPort',
      key,
      backing: { $type: 'VirtualSerialPortURIBackingInfo', serviceURI, direction },
      connectable: { startConnected: true, allowGuestControl: true, connected: false },
      yieldOnPoll: true,
    },
  };
}

export interface NicOptions {
  key: number;
  portgroupKey: string;
  switchUuid: string;
  macAddress?: string;
}

/** A vmxnet3 NIC on a distributed port group. */
export function dvsNic(o: NicOptions): DeviceChange {
  return {
    operation: 'add',
    device: {
      $type: 'VirtualVmxnet3',
      key: o.key,
      backing: { $type: 'VirtualEthernetCardDistributedVirtualPortBackingInfo', port: { switchUuid: o.switchUuid, portgroupKey: o.portgroupKey } },
      connectable: { startConnected: true, allowGuestControl: true, connected: false },
      addressType: o.macAddress ? 'manual' : 'generated',
      macAddress: o.macAddress,
    },
  };
}

/** Removes an existing device (as read back by `virtualMachineInfo`); `destroyFile` deletes a disk's file. */
export function removeDevice(device: VirtualDevice, destroyFile = false): DeviceChange {
  return { operation: 'remove', fileOperation: destroyFile ? 'destroy' : undefined, device: { $type: device.type, key: device.key } };
}

function encodeConfigSpec(spec: VmConfigSpec): Record<string, unknown> {
  const bootable = { cdrom: 'VirtualMachineCdromBootableDevice' } as const;
  return {
    name: spec.name,
    uuid: spec.uuid,
    guestId: spec.guestId,
    files: spec.files,
    numCPUs: spec.numCPUs,
    memoryMB: spec.memoryMB,
    deviceChange: spec.deviceChange?.map((c) => ({ operation: c.operation, fileOperation: c.fileOperation, device: c.device })),
    extraConfig: spec.extraConfig
      ? Object.entries(spec.extraConfig).map(([key, value]) => ({ key, value: xsdString(value) }))
      : undefined,
    bootOptions: spec.bootOrder ? { bootOrder: spec.bootOrder.map((d) => ({ $type: bootable[d] })) } : undefined,
  };
}

// ---- operations ----

export interface CreateVmOptions {
  folder: ManagedObjectReference;
  pool: ManagedObjectReference;
  host?: ManagedObjectReference;
  spec: VmConfigSpec;
}

export async function createVM(client: VimClient, o: CreateVmOptions): Promise<ManagedObjectReference> {
  const result = await runTask(client, 'CreateVM_Task', o.folder, { config: encodeConfigSpec(o.spec), pool: o.pool, host: o.host });
  if (!(result instanceof ManagedObjectReference)) throw new Error('vim25: CreateVM_Task returned no VM reference');
  return result;
}

export async function reconfigureVM(client: VimClient, vm: ManagedObjectReference, spec: VmConfigSpec): Promise<void> {
  await runTask(client, 'ReconfigVM_Task', vm, { spec: encodeConfigSpec(spec) });
}

export async function powerOn(client: VimClient, vm: ManagedObjectReference): Promise<void> {
  await runTask(client, 'PowerOnVM_Task', vm);
}

export async function powerOff(client: VimClient, vm: ManagedObjectReference): Promise<void> {
  await runTask(client, 'PowerOffVM_Task', vm);
}

/** Destroys the VM and deletes its files (the disks attached to it included). */
export async function destroyVM(client: VimClient, vm: ManagedObjectReference): Promise<void> {
  await runTask(client, 'Destroy_Task', vm);
}

// ---- reading back ----

function num(v: unknown): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function decodeDevice(v: unknown): VirtualDevice {
  const d = (v ?? {}) as Record<string, unknown>;
  const backing = (d.backing ?? {}) as Record<string, unknown>;
  const info = (d.deviceInfo ?? {}) as Record<string, unknown>;
  const port = (backing.port ?? {}) as Record<string, unknown>;
  const parent = (backing.parent ?? undefined) as Record<string, unknown> | undefined;
  return {
    type: str(d.$type) ?? 'VirtualDevice',
    key: Number(d.key),
    label: str(info.label),
    controllerKey: num(d.controllerKey),
    unitNumber: num(d.unitNumber),
    backingType: str(backing.$type),
    fileName: str(backing.fileName),
    parentFileName: parent ? str(parent.fileName) : undefined,
    diskMode: str(backing.diskMode),
    capacityInKB: num(d.capacityInKB),
    serviceURI: str(backing.serviceURI),
    direction: str(backing.direction),
    portgroupKey: str(port.portgroupKey),
    switchUuid: str(port.switchUuid),
    networkName: str(backing.deviceName),
    macAddress: str(d.macAddress),
    raw: d,
  };
}

export function decodeExtraConfig(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list(v as Record<string, unknown>[] | undefined)) {
    if (o && typeof o.key === 'string') out[o.key] = String(o.value ?? '');
  }
  return out;
}

export const vmInfoPaths = ['name', 'runtime.powerState', 'config.hardware.numCPU', 'config.hardware.memoryMB', 'config.hardware.device', 'config.extraConfig', 'config.files.vmPathName', 'resourcePool', 'parent'];

export function decodeVmInfo(o: ObjectContent): VirtualMachineInfo {
  const p = o.props;
  return {
    ref: o.obj,
    name: String(p.name ?? ''),
    powerState: (p['runtime.powerState'] ?? 'poweredOff') as PowerState,
    numCPU: Number(p['config.hardware.numCPU'] ?? 0),
    memoryMB: Number(p['config.hardware.memoryMB'] ?? 0),
    devices: list(p['config.hardware.device'] as unknown[] | undefined).map(decodeDevice),
    extraConfig: decodeExtraConfig(p['config.extraConfig']),
    vmPathName: str(p['config.files.vmPathName']),
    resourcePool: p.resourcePool instanceof ManagedObjectReference ? p.resourcePool : undefined,
    folder: p.parent instanceof ManagedObjectReference ? p.parent : undefined,
  };
}

export async function virtualMachineInfo(client: VimClient, vm: ManagedObjectReference): Promise<VirtualMachineInfo> {
  return decodeVmInfo({ obj: vm, props: await retrieveOne(client, vm, vmInfoPaths) });
}

/** Every VM below a folder or resource pool (recursively). */
export async function listVMs(client: VimClient, root: ManagedObjectReference): Promise<VirtualMachineInfo[]> {
  return (await retrieveContained(client, root, 'VirtualMachine', vmInfoPaths)).map(decodeVmInfo);
}

export async function powerState(client: VimClient, vm: ManagedObjectReference): Promise<PowerState> {
  return (await retrieveOne(client, vm, ['runtime.powerState']))['runtime.powerState'] as PowerState;
}

