// The port layer's disk store on a vSphere datastore. A layer is built as ext4 on the engine's host
// (the guest's layer format, shared with qemu) and uploaded once as a flat VMDK into the image store;
// a container's writable disk and a volume's disk are thin VMDKs made by the VirtualDiskManager, empty
// (the guest formats a disk with no filesystem on first use). A DiskRef is the VMDK's datastore path,
// `[ds] folder/name.vmdk`; the local directory the port layer gives keeps a pointer file naming it, so
// the disk follows its directory through renames.
//
// DiskStore's exists/allocatedBytes are synchronous, a datastore is not: the store keeps an index of
// the disks it made and destroyed (a JSON file beside the port layer's records, written atomically)
// and answers from it. A disk deleted behind the engine's back is therefore still "there" until a
// VM fails to attach it — the error then names the file.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DiskRef, DiskStore as PortLayerDiskStore, LayerImport } from '../../portlayer/disks.ts';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { makeExt4Image } from '../tether-vm/ext4-image.ts';
import type { VimClient } from '../../vim25/session.ts';
import { createVirtualDisk, datastorePath, deleteDatastoreFile, deleteVirtualDisk, makeDirectory } from '../../vim25/datastore.ts';
import { FileNotFoundFault } from '../../vim25/faults.ts';
import { DiskStore } from './disk-store.ts';
import type { Target } from './target.ts';

type Kind = 'layer' | 'container' | 'volume';

interface IndexEntry {
  kind: Kind;
  /** Bytes the disk takes on the datastore as far as the store knows (uploaded bytes; 0 for a new thin disk). */
  bytes: number;
}

/** A named volume store: local directories under `localDir` get their disks in `[datastore] path`. */
export interface VolumeStoreLocation {
  localDir: string;
  datastore: string;
  path: string;
}

export interface VsphereDiskStoreOptions {
  client: VimClient;
  target: Target;
  /** The image store's folders (layers, containers, default volumes). */
  folders: DiskStore;
  /** Where the index of made disks is kept (a local file). */
  indexFile: string;
  volumeStores?: VolumeStoreLocation[];
}

const UNSAFE = /[^A-Za-z0-9_.-]/g;

/** A file name from a directory's name, made unique (directories are renamed, names may repeat). */
function diskName(dir: string): string {
  const base = basename(dir).replace(UNSAFE, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 48) || 'disk';
  return `${base}-${randomBytes(4).toString('hex')}`;
}

function pointerFile(dir: string, kind: Kind): string {
  return join(dir, `vsphere-disk.${kind}`);
}

function pointedTo(dir: string, kind: Kind): DiskRef {
  try {
    return readFileSync(pointerFile(dir, kind), 'utf8');
  } catch {
    return `vsphere-disk:${kind}:none`;
  }
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof FileNotFoundFault)) throw err;
  }
}

export class VsphereDiskStore implements PortLayerDiskStore {
  private readonly options: VsphereDiskStoreOptions;
  private readonly index: Map<DiskRef, IndexEntry>;

  constructor(options: VsphereDiskStoreOptions) {
    this.options = options;
    let saved: Record<string, IndexEntry> = {};
    try {
      saved = JSON.parse(readFileSync(options.indexFile, 'utf8')) as Record<string, IndexEntry>;
    } catch { /* a new store */ }
    this.index = new Map(Object.entries(saved));
  }

  /** The image store's folder on its datastore. */
  get root(): string {
    return this.options.folders.root;
  }

  /** Makes the image store's folders and the volume stores' (idempotent). */
  async ensure(): Promise<void> {
    await this.options.folders.ensure();
    for (const v of this.options.volumeStores ?? []) {
      await makeDirectory(this.options.client, this.options.target.datacenter, datastorePath(v.datastore, v.path));
    }
  }

  /** Every disk the store made and has not destroyed (for tests and diagnostics). */
  known(): Array<{ disk: DiskRef; kind: Kind }> {
    return [...this.index].map(([disk, e]) => ({ disk, kind: e.kind }));
  }

  async importLayer(request: LayerImport): Promise<void> {
    const raw = join(request.dir, 'layer.ext4.upload');
    try {
      await makeExt4Image(request.files, raw, request.content, request.record);
      const name = diskName(request.dir);
      const ref = await this.options.folders.uploadLayer(name, raw);
      this.remember(ref, { kind: 'layer', bytes: statSync(raw).size });
      writeFileSync(pointerFile(request.dir, 'layer'), ref, { flag: 'wx', mode: 0o600 });
    } finally {
      await rm(raw, { force: true });
    }
  }

  layerDisk(dir: string): DiskRef {
    return pointedTo(dir, 'layer');
  }

  async createContainerDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    const ref = await this.options.folders.createContainerDisk(diskName(dir), Math.ceil(sizeBytes / 1024));
    this.remember(ref, { kind: 'container', bytes: 0 });
    writeFileSync(pointerFile(dir, 'container'), ref, { flag: 'wx', mode: 0o600 });
    return ref;
  }

  containerDisk(dir: string): DiskRef {
    return pointedTo(dir, 'container');
  }

  async createVolumeDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    const store = this.volumeStoreOf(dir);
    const sizeKB = Math.ceil(sizeBytes / 1024);
    let ref: DiskRef;
    if (store) {
      ref = datastorePath(store.datastore, `${store.path}/${diskName(dir)}.vmdk`);
      await createVirtualDisk(this.options.client, this.options.target.datacenter, ref, sizeKB);
    } else {
      ref = await this.options.folders.createVolume(diskName(dir), sizeKB);
    }
    this.remember(ref, { kind: 'volume', bytes: 0 });
    writeFileSync(pointerFile(dir, 'volume'), ref, { flag: 'wx', mode: 0o600 });
    return ref;
  }

  volumeDisk(dir: string): DiskRef {
    return pointedTo(dir, 'volume');
  }

  exists(disk: DiskRef): boolean {
    return this.index.has(disk);
  }

  allocatedBytes(disk: DiskRef): number {
    return this.index.get(disk)?.bytes ?? 0;
  }

  async destroyDisk(disk: DiskRef): Promise<void> {
    const entry = this.index.get(disk);
    if (!entry) return;
    const { client, target } = this.options;
    if (entry.kind === 'layer') {
      // An uploaded layer is a descriptor plus its flat extent: both go.
      await ignoreMissing(deleteDatastoreFile(client, target.datacenter, disk.replace(/\.vmdk$/, '-flat.vmdk')));
      await ignoreMissing(deleteDatastoreFile(client, target.datacenter, disk));
    } else {
      await ignoreMissing(deleteVirtualDisk(client, target.datacenter, disk));
    }
    this.index.delete(disk);
    this.save();
  }

  private volumeStoreOf(dir: string): VolumeStoreLocation | undefined {
    const parent = resolve(dirname(dir));
    return this.options.volumeStores?.find((v) => resolve(v.localDir) === parent);
  }

  private remember(disk: DiskRef, entry: IndexEntry): void {
    this.index.set(disk, entry);
    this.save();
  }

  private save(): void {
    writeJsonAtomic(this.options.indexFile, Object.fromEntries(this.index));
  }
}
