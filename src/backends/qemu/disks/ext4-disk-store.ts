// The qemu backend's disk store: every disk is a sparse ext4 file in the directory the port layer
// gives it — layers/<diffid>/disk.ext4 (read-only, built by mke2fs from the unpacked layer),
// containers/<id>/rw.ext4 (the container's writes), volumes/<name>/disk.ext4. A DiskRef is the file's
// path. These names are the datastore's format: existing datastores load unchanged.
import { closeSync, existsSync, fsyncSync, openSync, statSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiskRef, DiskStore, LayerImport, StoppedContainerFiles } from '../../../portlayer/disks.ts';
import { makeExt4Image } from '../../tether-vm/ext4-image.ts';
import { formatExt4, formatVolumeDisk } from './ext4-disk.ts';
import { Ext4StoppedFiles } from './stopped-files.ts';

const LAYER_DISK = 'disk.ext4';
const CONTAINER_DISK = 'rw.ext4';
const VOLUME_DISK = 'disk.ext4';

export interface Ext4DiskStoreOptions {
  /**
   * The host program that does `docker cp`'s file work on a mounted filesystem (the tether binary's
   * `files` mode: the same code as inside a running guest). Absent: no access to stopped containers' files.
   */
  hostFileTool?: string;
}

export class Ext4DiskStore implements DiskStore {
  readonly files?: StoppedContainerFiles;

  constructor(options: Ext4DiskStoreOptions = {}) {
    if (options.hostFileTool) this.files = new Ext4StoppedFiles(options.hostFileTool);
  }

  async importLayer(request: LayerImport): Promise<void> {
    const disk = this.layerDisk(request.dir);
    await makeExt4Image(request.files, disk, request.content, request.record);
    await chmod(disk, 0o400); // shared by every image and container using it: never written; root's alone
    syncFile(disk);
  }

  layerDisk(dir: string): DiskRef {
    return join(dir, LAYER_DISK);
  }

  async createContainerDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    const disk = this.containerDisk(dir);
    await formatExt4(disk, sizeBytes);
    return disk;
  }

  containerDisk(dir: string): DiskRef {
    return join(dir, CONTAINER_DISK);
  }

  async createVolumeDisk(dir: string, sizeBytes: number): Promise<DiskRef> {
    const disk = this.volumeDisk(dir);
    await formatVolumeDisk(disk, sizeBytes);
    return disk;
  }

  volumeDisk(dir: string): DiskRef {
    return join(dir, VOLUME_DISK);
  }

  exists(disk: DiskRef): boolean {
    return existsSync(disk);
  }

  allocatedBytes(disk: DiskRef): number {
    try {
      return statSync(disk).blocks * 512;
    } catch {
      return 0;
    }
  }

  async destroyDisk(disk: DiskRef): Promise<void> {
    await rm(disk, { force: true });
  }
}

/** fsync a file, so that a rename of its directory never exposes content still in the page cache. */
function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
