// The VCH's disks on a datastore: `<vch>/images/<layer>.vmdk` (read-only layer disks, each the child
// of the layer below it), `<vch>/volumes/<name>.vmdk`, `<vch>/containers/<id>/` for writable disks.
// A layer arrives as a raw ext4 image made on the engine's host; it is uploaded as a monolithic-flat
// VMDK: the raw bytes as `<layer>-flat.vmdk` and a small text descriptor `<layer>.vmdk` naming it.
import { stat } from 'node:fs/promises';
import type { VimClient } from '../../vim25/session.ts';
import { datastorePath, deleteDatastoreFile, downloadFile, makeDirectory, uploadFile, createVirtualDisk } from '../../vim25/datastore.ts';
import type { Target } from './target.ts';

const SECTOR = 512;
const SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkName(kind: string, name: string): void {
  if (!SAFE.test(name) || name.includes('..')) throw new Error(`invalid ${kind} name ${JSON.stringify(name)}`);
}

/**
 * The descriptor of a monolithic-flat VMDK over `flatName` of `bytes` bytes (a multiple of 512).
 * Geometry follows the BIOS convention of 255 heads × 63 sectors.
 */
export function flatDescriptor(flatName: string, bytes: number): string {
  if (bytes % SECTOR !== 0) throw new Error(`disk size ${bytes} is not a multiple of ${SECTOR}`);
  const sectors = bytes / SECTOR;
  const cylinders = Math.max(1, Math.floor(sectors / (255 * 63)));
  return [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    'CID=fffffffe',
    'parentCID=ffffffff',
    'createType="vmfs"',
    '',
    '# Extent description',
    `RW ${sectors} VMFS "${flatName}"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.adapterType = "lsilogic"',
    `ddb.geometry.cylinders = "${cylinders}"`,
    'ddb.geometry.heads = "255"',
    'ddb.geometry.sectors = "63"',
    'ddb.virtualHWVersion = "13"',
    '',
  ].join('\n');
}

export class DiskStore {
  readonly client: VimClient;
  readonly target: Target;
  readonly vch: string;
  /** The store's folder on the datastore: the VCH's name, below the image store's path if it has one. */
  readonly root: string;

  constructor(client: VimClient, target: Target, vch: string, parentPath = '') {
    checkName('VCH', vch);
    for (const part of parentPath.split('/').filter(Boolean)) checkName('image store path', part);
    this.client = client;
    this.target = target;
    this.vch = vch;
    this.root = [...parentPath.split('/').filter(Boolean), vch].join('/');
  }

  private get datastore(): string {
    return this.target.config.datastore;
  }

  /** Creates the store's directories (idempotent). */
  async ensure(): Promise<void> {
    for (const d of ['images', 'volumes', 'containers']) {
      await makeDirectory(this.client, this.target.datacenter, datastorePath(this.datastore, `${this.root}/${d}`));
    }
  }

  layerPath(layer: string): string {
    checkName('layer', layer);
    return datastorePath(this.datastore, `${this.root}/images/${layer}.vmdk`);
  }

  volumePath(name: string): string {
    checkName('volume', name);
    return datastorePath(this.datastore, `${this.root}/volumes/${name}.vmdk`);
  }

  containerDir(id: string): string {
    checkName('container', id);
    return datastorePath(this.datastore, `${this.root}/containers/${id}`);
  }

  writableDiskPath(id: string): string {
    return `${this.containerDir(id)}/rw.vmdk`;
  }

  /**
   * Uploads a raw layer image as a flat VMDK. The descriptor goes last, so a layer whose descriptor
   * exists is complete; an interrupted upload leaves only a flat file, replaced on retry.
   */
  async uploadLayer(layer: string, rawImage: string): Promise<string> {
    const path = this.layerPath(layer);
    const size = (await stat(rawImage)).size;
    const base = `${this.root}/images/${layer}`;
    const file = (p: string) => ({ datacenterPath: this.target.config.datacenter, datastore: this.datastore, path: p });
    await uploadFile(this.client, file(`${base}-flat.vmdk`), { localPath: rawImage });
    await uploadFile(this.client, file(`${base}.vmdk`), Buffer.from(flatDescriptor(`${layer}-flat.vmdk`, size)));
    return path;
  }

  /** True when the layer's descriptor is on the datastore (the upload finished). */
  async hasLayer(layer: string): Promise<boolean> {
    this.layerPath(layer);
    try {
      await downloadFile(this.client, { datacenterPath: this.target.config.datacenter, datastore: this.datastore, path: `${this.root}/images/${layer}.vmdk` });
      return true;
    } catch {
      return false;
    }
  }

  async createVolume(name: string, sizeKB: number): Promise<string> {
    const path = this.volumePath(name);
    await createVirtualDisk(this.client, this.target.datacenter, path, sizeKB);
    return path;
  }

  /** A container's writable disk, empty and thin (the guest formats it on first use). */
  async createContainerDisk(name: string, sizeKB: number): Promise<string> {
    checkName('container disk', name);
    const path = datastorePath(this.datastore, `${this.root}/containers/${name}.vmdk`);
    await createVirtualDisk(this.client, this.target.datacenter, path, sizeKB);
    return path;
  }

  async makeContainerDir(id: string): Promise<void> {
    await makeDirectory(this.client, this.target.datacenter, this.containerDir(id));
  }

  async removeContainerDir(id: string): Promise<void> {
    await deleteDatastoreFile(this.client, this.target.datacenter, this.containerDir(id));
  }

  /** Removes the whole store (the VCH's datastore directory). */
  async destroy(): Promise<void> {
    await deleteDatastoreFile(this.client, this.target.datacenter, datastorePath(this.datastore, this.root));
  }
}
