// The fake backend's disk store: every disk is a tree of files in memory. The directory the port layer
// gives it keeps only a pointer (a `fake-disk.<kind>` file naming the disk), so a disk follows its
// directory through renames, as a vSphere store's pointer to a VMDK would. A layer disk holds what its
// unpacked files held; a container's or volume's disk starts empty. No access to stopped containers'
// files (the capability is off).
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DiskRef, DiskStore, LayerImport } from '../../portlayer/disks.ts';

export type FakeNode =
  | { type: 'file'; mode: number; data: Buffer }
  | { type: 'dir'; mode: number; entries: Map<string, FakeNode> }
  | { type: 'symlink'; target: string }
  | { type: 'other'; mode: number };

export interface FakeDisk {
  kind: 'layer' | 'container' | 'volume';
  root: FakeNode & { type: 'dir' };
  sizeBytes: number;
}

export class FakeDiskStore implements DiskStore {
  /** Every disk that exists, by reference: what a test inspects. */
  readonly disks = new Map<DiskRef, FakeDisk>();
  /** Disks destroyed, in order. */
  readonly destroyed: DiskRef[] = [];

  async importLayer(request: LayerImport): Promise<void> {
    const root = readTree(request.files);
    if (root.type !== 'dir') throw new Error(`${request.files} is not a directory`);
    const ref = this.create(request.dir, 'layer', request.content.contentBytes);
    this.disks.get(ref)!.root = root;
  }

  layerDisk(dir: string): DiskRef {
    return pointedTo(dir, 'layer');
  }

  async createContainerDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    return this.create(dir, 'container', sizeBytes);
  }

  containerDisk(dir: string): DiskRef {
    return pointedTo(dir, 'container');
  }

  async createVolumeDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    return this.create(dir, 'volume', sizeBytes);
  }

  volumeDisk(dir: string): DiskRef {
    return pointedTo(dir, 'volume');
  }

  exists(disk: DiskRef): boolean {
    return this.disks.has(disk);
  }

  allocatedBytes(disk: DiskRef): number {
    const found = this.disks.get(disk);
    return found ? treeBytes(found.root) : 0;
  }

  async destroyDisk(disk: DiskRef): Promise<void> {
    if (this.disks.delete(disk)) this.destroyed.push(disk);
  }

  private create(dir: string, kind: FakeDisk['kind'], sizeBytes: number): DiskRef {
    const ref = `fake-disk:${kind}:${randomBytes(8).toString('hex')}`;
    this.disks.set(ref, { kind, root: { type: 'dir', mode: 0o755, entries: new Map() }, sizeBytes });
    writeFileSync(join(dir, `fake-disk.${kind}`), ref, { flag: 'wx', mode: 0o600 });
    return ref;
  }
}

/** The disk a directory's pointer names; one that names nothing when there is no pointer. */
function pointedTo(dir: string, kind: FakeDisk['kind']): DiskRef {
  try {
    return readFileSync(join(dir, `fake-disk.${kind}`), 'utf8');
  } catch {
    return `fake-disk:${kind}:none`;
  }
}

function readTree(path: string): FakeNode {
  const stat = lstatSync(path);
  if (stat.isDirectory()) {
    const entries = new Map<string, FakeNode>();
    for (const name of readdirSync(path)) entries.set(name, readTree(join(path, name)));
    return { type: 'dir', mode: stat.mode & 0o7777, entries };
  }
  if (stat.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(path) };
  if (stat.isFile()) return { type: 'file', mode: stat.mode & 0o7777, data: readFileSync(path) };
  return { type: 'other', mode: stat.mode };
}

function treeBytes(node: FakeNode): number {
  if (node.type === 'file') return node.data.length;
  if (node.type === 'dir') return [...node.entries.values()].reduce((sum, n) => sum + treeBytes(n), 0);
  return 0;
}
