// The port layer's view of disks: what a backend's disk store makes, keeps and destroys. The port
// layer holds only opaque references (DiskRef) and the datastore directories it owns (a layer's,
// a container's, a volume's): the store decides what a disk is there (an ext4 file for qemu, a VMDK
// for vSphere, a tree in memory for the fake) and names it relative to that directory.
import type { Readable, Writable } from 'node:stream';
import type { ArchiveWriteOptions, PathStat } from './backend.ts';

/** A disk as the backend's disk store names it. Stored in records as is; only the store reads it. */
export type DiskRef = string;

/** How big a layer is once unpacked: what a store sizes the layer's disk from. */
export interface LayerContent {
  /** Bytes of regular-file content (hard links counted once). */
  contentBytes: number;
  /** 4 KiB blocks the file content needs. */
  dataBlocks: number;
  /** Files, directories, links and nodes (each an inode). */
  inodes: number;
  directories: number;
  /** Bytes of directory entries (names plus their 8-byte headers). */
  directoryEntryBytes: number;
  /** Symlinks whose target does not fit in an inode (60 bytes or more). */
  longSymlinks: number;
}

export interface LayerImport {
  /**
   * The layer's files, unpacked from its tar in the guest's form (docs/tether-protocol.md: the tether
   * stacks layers with overlayfs, so whiteouts are 0:0 character devices and opaque directories carry
   * trusted.overlay.opaque=y). The store reads it; the caller removes it.
   */
  files: string;
  content: LayerContent;
  /** The layer's directory being built; it is renamed into place after the import (see layerDisk). */
  dir: string;
  /** Told how long the store's own steps took (named as in images/phase-times.ts). */
  record?: (phase: 'mke2fs' | 'debugfs', ms: number) => void;
}

/** A stopped container's disks, and which of its volumes to show at which targets. */
export interface ContainerDisks {
  /** Layer disks, bottom first. */
  layerDisks: DiskRef[];
  writableDisk: DiskRef;
  volumes: Array<{ target: string; disk: DiskRef; readOnly: boolean }>;
  /** Host directories bound at their targets (Docker's bind mounts), as the container shows them. */
  binds?: Array<{ target: string; source: string; readOnly: boolean }>;
}

/** A container's filesystem for reading (export, diff, commit). */
export interface FilesystemDisks {
  layerDisks: DiskRef[];
  /** Absent: the container has no writable disk yet. */
  writableDisk?: DiskRef;
  /** Whether a VM may be writing the writable disk right now (the store must then read a copy). */
  active: boolean;
}

/** One path the container changed against its image (`docker diff`), before the port layer's filtering. */
export interface FilesystemChange {
  /** Absolute path in the container. */
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

/**
 * An optional capability: a stopped container's files reached from the engine's side, without a VM
 * (`docker cp`, `export`, `diff`, `commit`). Each call gets a scratch directory of the datastore it may
 * use (`tmpDir`); the caller makes sure no VM runs on the disks it names (except `active` reads).
 */
export interface StoppedContainerFiles {
  stat(disks: ContainerDisks, path: string, tmpDir: string): Promise<PathStat>;
  /** Hands the stat and the tar to `deliver`; the disks stay open until it settles. */
  read(disks: ContainerDisks, path: string, tmpDir: string, deliver: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void>;
  /** Extracts `tar` into the directory `path` names; `user` is the container's, for copyUIDGID. */
  write(disks: ContainerDisks, path: string, tar: Readable, options: ArchiveWriteOptions & { user: string }, tmpDir: string): Promise<void>;
  /** The merged filesystem as one tarball. */
  exportFilesystem(fs: FilesystemDisks, out: Writable, tmpDir: string): Promise<void>;
  /** What the container changed against its layers. */
  changes(fs: FilesystemDisks, tmpDir: string): Promise<FilesystemChange[]>;
  /** The container's changes as an OCI layer tar (whiteouts as `.wh.` files) written to the file `out`. */
  writeChangesLayer(fs: FilesystemDisks, out: string, tmpDir: string): Promise<void>;
}

export interface DiskStore {
  /** Builds the layer's read-only disk in `dir` from its unpacked files, flushed and never written again. */
  importLayer(request: LayerImport): Promise<void>;
  /** The disk a layer directory holds (wherever the directory was renamed to since). */
  layerDisk(dir: string): DiskRef;
  /** Creates the container's writable disk (empty) in its directory. */
  createContainerDisk(dir: string, sizeBytes: number): Promise<DiskRef>;
  containerDisk(dir: string): DiskRef;
  /** Creates a volume's disk in `dir`: empty, what the container sees at the mount. */
  createVolumeDisk(dir: string, sizeBytes: number): Promise<DiskRef>;
  /** The disk a volume directory holds (wherever the directory was renamed to since). */
  volumeDisk(dir: string): DiskRef;
  /** Whether the disk is there (a complete one). */
  exists(disk: DiskRef): boolean;
  /** Bytes the disk really takes on its storage (disks are sparse or thin). */
  allocatedBytes(disk: DiskRef): number;
  /** Destroys a disk; nothing happens when it is gone already. */
  destroyDisk(disk: DiskRef): Promise<void>;
  /** Absent: a stopped container's files are out of reach (501). */
  readonly files?: StoppedContainerFiles;
}
