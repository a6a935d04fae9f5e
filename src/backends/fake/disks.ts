// The fake backend's disk store: every disk is a tree of files in memory, named `fake-disk:<dir>/<kind>`
// after the directory the port layer gives it. A layer disk holds what its unpacked files held; a
// container's or volume's disk starts empty. No access to stopped containers' files (the capability is off).
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
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
    this.disks.set(this.layerDisk(request.dir), { kind: 'layer', root, sizeBytes: request.content.contentBytes });
  }

  layerDisk(dir: string): DiskRef {
    return `fake-disk:${dir}/layer`;
  }

  async createContainerDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    return this.create(this.containerDisk(dir), 'container', sizeBytes);
  }

  containerDisk(dir: string): DiskRef {
    return `fake-disk:${dir}/rw`;
  }

  async createVolumeDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    return this.create(this.volumeDisk(dir), 'volume', sizeBytes);
  }

  volumeDisk(dir: string): DiskRef {
    return `fake-disk:${dir}/volume`;
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

  private create(ref: DiskRef, kind: FakeDisk['kind'], sizeBytes: number): DiskRef {
    if (this.disks.has(ref)) throw new Error(`disk ${ref} exists already`);
    this.disks.set(ref, { kind, root: { type: 'dir', mode: 0o755, entries: new Map() }, sizeBytes });
    return ref;
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
