// vim25 data types a container backend uses: managed object references, the spec shapes it sends
// (VM config, resource allocation, port groups) and the shapes it reads back. Specs are plain objects
// whose key order is the schema's element order (real vCenter checks it; vcsim does not).

/** A managed object reference: its type and its server-side id (`vm-42`). */
export class ManagedObjectReference {
  readonly type: string;
  readonly value: string;
  constructor(type: string, value: string) {
    this.type = type;
    this.value = value;
  }
  equals(other: ManagedObjectReference | undefined): boolean {
    return other !== undefined && other.type === this.type && other.value === this.value;
  }
  toString(): string {
    return `${this.type}:${this.value}`;
  }
}

export function moref(type: string, value: string): ManagedObjectReference {
  return new ManagedObjectReference(type, value);
}

export type PowerState = 'poweredOn' | 'poweredOff' | 'suspended';
export type TaskState = 'queued' | 'running' | 'success' | 'error';
export type SharesLevel = 'low' | 'normal' | 'high' | 'custom';

export interface ServiceContent {
  rootFolder: ManagedObjectReference;
  propertyCollector: ManagedObjectReference;
  viewManager?: ManagedObjectReference;
  sessionManager: ManagedObjectReference;
  searchIndex: ManagedObjectReference;
  fileManager?: ManagedObjectReference;
  virtualDiskManager?: ManagedObjectReference;
  eventManager?: ManagedObjectReference;
  taskManager?: ManagedObjectReference;
  about: { name: string; fullName: string; version: string; apiVersion: string; apiType: string; instanceUuid?: string };
}

export interface UserSession {
  key: string;
  userName: string;
}

/** CPU (MHz) or memory (MB) allocation of a resource pool; -1 limit = unlimited. */
export interface Allocation {
  reservation?: number;
  expandableReservation?: boolean;
  limit?: number;
  shares?: { level: SharesLevel; shares?: number };
}

export interface ResourceConfig {
  cpu: Allocation;
  memory: Allocation;
}

/** A device in a VirtualMachineConfigSpec (an xsi-typed VirtualDevice subtype). */
export interface DeviceSpec {
  $type: string;
  key: number;
  [field: string]: unknown;
}

export interface DeviceChange {
  operation?: 'add' | 'remove' | 'edit';
  fileOperation?: 'create' | 'destroy' | 'replace';
  device: DeviceSpec;
}

/** VirtualMachineConfigSpec: the fields Bonneville sets (schema order). */
export interface VmConfigSpec {
  name?: string;
  guestId?: string;
  files?: { vmPathName: string };
  numCPUs?: number;
  memoryMB?: number;
  deviceChange?: DeviceChange[];
  extraConfig?: Record<string, string>;
  /** The VM's BIOS UUID (SMBIOS system UUID the guest reads), `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  uuid?: string;
  /** Boot devices in order, e.g. the CD-ROM first. */
  bootOrder?: Array<'cdrom'>;
}

/** A device as read back from `config.hardware.device`. */
export interface VirtualDevice {
  type: string;
  key: number;
  label?: string;
  controllerKey?: number;
  unitNumber?: number;
  backingType?: string;
  /** Disk: backing file; serial: service URI; NIC: port group key or network name. */
  fileName?: string;
  parentFileName?: string;
  diskMode?: string;
  capacityInKB?: number;
  serviceURI?: string;
  direction?: string;
  portgroupKey?: string;
  switchUuid?: string;
  networkName?: string;
  macAddress?: string;
  raw: Record<string, unknown>;
}

export interface VirtualMachineInfo {
  ref: ManagedObjectReference;
  name: string;
  powerState: PowerState;
  numCPU: number;
  memoryMB: number;
  devices: VirtualDevice[];
  extraConfig: Record<string, string>;
  resourcePool?: ManagedObjectReference;
  folder?: ManagedObjectReference;
  vmPathName?: string;
}

export interface ObjectChange {
  name: string;
  op: 'add' | 'remove' | 'assign' | 'indirectRemove';
  value: unknown;
}

export interface ObjectUpdate {
  kind: 'enter' | 'leave' | 'modify';
  obj: ManagedObjectReference;
  changes: ObjectChange[];
}
