// Unpacks one layer tar into a directory, as root, ready for the disk store to make a disk of it (DiskStore.importLayer):
// ownership, modes, times, symlinks, hard links and device nodes are kept; OCI whiteouts become
// overlayfs ones (".wh.NAME" → char device 0:0 "NAME"; ".wh..wh..opq" → trusted.overlay.opaque=y).
//
// Nothing may land outside the directory: names that climb out with ".." refuse the layer, and so
// does any entry whose parent is a symlink (a link planted earlier in the tar could point anywhere
// on the host). Rooted names ("/etc/x") mean the same as relative ones, as in Docker.
//
// Why synchronous fs calls: a layer is thousands of small files, and each async call is a trip
// through libuv's thread pool. Done in line, one entry costs a few microseconds of syscalls, and the
// event loop still turns between the chunks of the tar stream (each chunk holds at most a few entries).
// Nodes (whiteouts, devices) need mknod(2), which Node lacks: they are created in one batch at the end.

import { closeSync, constants, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ReadEntry } from 'tar';
import { invalidParameter } from './errors.ts';
import { makeNodes, setOpaque, type NodeToMake } from './layer-nodes.ts';
import { StagingFull } from './staging.ts';
import { forEachTarEntry } from './tar-entries.ts';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** O_EXCL also refuses a symlink at the name; O_NOFOLLOW says so twice. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** What was written, for sizing the disk that will hold it (the disk store's LayerContent). */
export interface ExtractedContent {
  /** Bytes of regular-file content (hard links counted once). */
  contentBytes: number;
  /** 4 KiB blocks the file content needs. */
  dataBlocks: number;
  /** Files, directories, links and nodes created (each an inode). */
  inodes: number;
  directories: number;
  /** Bytes of directory entries (names plus their 8-byte headers). */
  directoryEntryBytes: number;
  /** Symlinks whose target does not fit in the inode (60 bytes or more) and needs a block. */
  longSymlinks: number;
}

export interface ExtractOptions {
  /** How much the unpacked files may take (see staging.ts): StagingFull past that. */
  limitBytes?: number;
  /** Told how long making the nodes and opaque directories took (it runs host tools). */
  onNodes?: (ms: number) => void;
}

export async function extractLayer(tar: Readable, rootDir: string, what: string, options: ExtractOptions = {}): Promise<ExtractedContent> {
  const extractor = new LayerExtractor(rootDir, what, options.limitBytes);
  await forEachTarEntry(tar, what, (entry) => extractor.apply(entry));
  const start = performance.now();
  await extractor.finish();
  options.onNodes?.(performance.now() - start);
  return extractor.content;
}

class LayerExtractor {
  readonly content: ExtractedContent = { contentBytes: 0, dataBlocks: 0, inodes: 0, directories: 0, directoryEntryBytes: 0, longSymlinks: 0 };
  private readonly root: string;
  private readonly what: string;
  private readonly limitBytes: number | undefined;
  /** Relative paths known to be real directories (never symlinks) inside the root. */
  private readonly knownDirectories = new Set<string>(['']);
  private readonly opaqueDirectories = new Set<string>();
  /**
   * Nodes still to make, by relative path. Each holds its name meanwhile as an empty placeholder
   * file, so later entries see the name taken exactly as they would see the node.
   */
  private readonly pendingNodes = new Map<string, NodeToMake>();
  /** Directory times are set last: creating entries inside a directory changes its mtime. */
  private readonly directoryTimes: Array<{ path: string; atime: Date; mtime: Date }> = [];

  constructor(root: string, what: string, limitBytes: number | undefined) {
    this.root = root;
    this.what = what;
    this.limitBytes = limitBytes;
  }

  apply(entry: ReadEntry): Promise<void> {
    const path = this.relativePath(entry.path);
    const name = posix.basename(path);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      entry.resume();
      this.applyWhiteout(path, entry);
      return Promise.resolve();
    }
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        return this.writeFile(path, entry);
      case 'Directory':
      case 'GNUDumpDir':
        entry.resume();
        this.makeDirectory(path, entry);
        break;
      case 'SymbolicLink':
        entry.resume();
        this.makeSymlink(path, entry);
        break;
      case 'Link':
        entry.resume();
        this.makeHardLink(path, entry);
        break;
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        entry.resume();
        this.makeNode(path, entry);
        break;
      default:
        entry.resume(); // sparse files, volume labels…: nothing a container can use
    }
    return Promise.resolve();
  }

  async finish(): Promise<void> {
    await makeNodes(this.root, [...this.pendingNodes.values()]);
    const opaque: string[] = [];
    for (const path of this.opaqueDirectories) {
      if (lstatSync(this.absolute(path), { throwIfNoEntry: false })?.isDirectory()) opaque.push(this.absolute(path));
    }
    await setOpaque(opaque);
    for (const { path, atime, mtime } of this.directoryTimes) {
      try {
        lutimesSync(path, atime, mtime);
      } catch {
        // the directory may have been replaced since
      }
    }
  }

  private relativePath(name: string): string {
    if (name.includes('\0')) throw invalidParameter(`${this.what}: entry name contains a NUL byte`);
    const normal = posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (normal === '..' || normal.startsWith('../')) {
      throw invalidParameter(`${this.what}: entry "${name}" points outside the layer`);
    }
    return normal === '.' ? '' : normal;
  }

  private absolute(path: string): string {
    return path === '' ? this.root : join(this.root, path);
  }

  /** Creates missing parent directories; refuses a parent that is a symlink or not a directory. */
  private ensureParents(path: string): void {
    const parts = path.split('/').slice(0, -1);
    let current = '';
    for (const part of parts) {
      current = current === '' ? part : `${current}/${part}`;
      if (this.knownDirectories.has(current)) continue;
      const stats = lstatSync(this.absolute(current), { throwIfNoEntry: false });
      if (stats === undefined) {
        mkdirSync(this.absolute(current), { mode: 0o755 });
        this.countEntry(current);
        this.content.directories++;
      } else if (stats.isSymbolicLink()) {
        throw invalidParameter(`${this.what}: "${path}" would be written through the symlink "${current}"`);
      } else if (!stats.isDirectory()) {
        throw invalidParameter(`${this.what}: "${path}" needs "${current}" to be a directory`);
      }
      this.knownDirectories.add(current);
    }
  }

  /** Makes room for a new entry at `path`: later tar entries replace earlier ones, except dir over dir. */
  private clear(path: string, keepDirectory: boolean): boolean {
    if (path === '') return true;
    this.ensureParents(path);
    const stats = lstatSync(this.absolute(path), { throwIfNoEntry: false });
    if (stats === undefined) return false;
    if (keepDirectory && stats.isDirectory()) return true;
    rmSync(this.absolute(path), { recursive: true, force: true });
    if (stats.isDirectory()) {
      for (const known of this.knownDirectories) {
        if (known.startsWith(`${path}/`)) this.knownDirectories.delete(known);
      }
      for (const pending of this.pendingNodes.keys()) {
        if (pending.startsWith(`${path}/`)) this.pendingNodes.delete(pending);
      }
    }
    this.knownDirectories.delete(path);
    this.pendingNodes.delete(path);
    return false;
  }

  /** Refuses, before writing, a file that would take the layer past its staging budget. */
  private checkRoom(size: number): void {
    if (this.limitBytes === undefined) return;
    // Pages of content plus a rough inode-and-dentry cost per entry: what tmpfs charges to memory.
    const staged = (this.content.dataBlocks + Math.ceil(size / 4096)) * 4096 + (this.content.inodes + 1) * 1024;
    if (staged > this.limitBytes) throw new StagingFull(this.limitBytes);
  }

  private countEntry(path: string): void {
    this.content.inodes++;
    this.content.directoryEntryBytes += 8 + Math.ceil(Buffer.byteLength(posix.basename(path)) / 4) * 4;
  }

  private writeFile(path: string, entry: ReadEntry): Promise<void> {
    if (path === '') {
      entry.resume();
      return Promise.resolve();
    }
    this.checkRoom(entry.size ?? 0);
    this.clear(path, false);
    const fd = openSync(this.absolute(path), CREATE_FLAGS, 0o600);
    return new Promise<void>((resolve, reject) => {
      let failure: unknown;
      entry.on('data', (chunk: Buffer) => {
        if (failure !== undefined) return;
        try {
          for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done);
        } catch (error) {
          failure = error;
        }
      });
      entry.on('end', () => {
        try {
          if (failure !== undefined) throw failure;
          fchownSync(fd, entry.uid ?? 0, entry.gid ?? 0);
          // chmod after chown: chown clears set-id bits.
          if (entry.mode !== undefined) fchmodSync(fd, entry.mode & 0o7777);
          if (entry.mtime) futimesSync(fd, entry.atime ?? entry.mtime, entry.mtime);
        } catch (error) {
          failure ??= error;
        } finally {
          closeSync(fd);
        }
        if (failure !== undefined) return reject(failure);
        const size = entry.size ?? 0;
        this.countEntry(path);
        this.content.contentBytes += size;
        this.content.dataBlocks += Math.ceil(size / 4096);
        resolve();
      });
    });
  }

  private makeDirectory(path: string, entry: ReadEntry): void {
    const existed = this.clear(path, true);
    const absolute = this.absolute(path);
    if (!existed) {
      mkdirSync(absolute, { mode: 0o755 });
      this.countEntry(path);
      this.content.directories++;
    }
    this.knownDirectories.add(path);
    // A directory known here is never a symlink, so following the name is safe.
    lchownSync(absolute, entry.uid ?? 0, entry.gid ?? 0);
    if (entry.mode !== undefined) this.chmodDirectory(absolute, entry.mode & 0o7777);
    if (entry.mtime) this.directoryTimes.push({ path: absolute, atime: entry.atime ?? entry.mtime, mtime: entry.mtime });
  }

  private chmodDirectory(absolute: string, mode: number): void {
    const fd = openSync(absolute, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
  }

  private makeSymlink(path: string, entry: ReadEntry): void {
    const target = entry.linkpath ?? '';
    if (path === '' || target === '') return;
    this.clear(path, false);
    const absolute = this.absolute(path);
    // The target is stored as text and only followed inside the container's own root.
    symlinkSync(target, absolute);
    lchownSync(absolute, entry.uid ?? 0, entry.gid ?? 0);
    if (entry.mtime) lutimesSync(absolute, entry.atime ?? entry.mtime, entry.mtime);
    this.countEntry(path);
    if (Buffer.byteLength(target) >= 60) this.content.longSymlinks++;
  }

  private makeHardLink(path: string, entry: ReadEntry): void {
    const target = this.relativePath(entry.linkpath ?? '');
    if (path === '' || target === '' || target === path) return;
    this.ensureParents(target);
    const targetStats = lstatSync(this.absolute(target), { throwIfNoEntry: false });
    if (targetStats === undefined || targetStats.isDirectory()) {
      throw invalidParameter(`${this.what}: hard link "${path}" points at "${target}", which is not a file in this layer`);
    }
    if (this.pendingNodes.has(target)) {
      // The target is still a placeholder: the link becomes a node of its own, as a copy would.
      this.addNode(path, this.pendingNodes.get(target)!);
      return;
    }
    this.clear(path, false);
    linkSync(this.absolute(target), this.absolute(path)); // link(2) does not follow a symlink target
    this.content.directoryEntryBytes += 8 + Math.ceil(Buffer.byteLength(posix.basename(path)) / 4) * 4;
  }

  private makeNode(path: string, entry: ReadEntry): void {
    if (path === '') return;
    const type = entry.type === 'FIFO' ? 'fifo' : entry.type === 'BlockDevice' ? 'block' : 'char';
    this.addNode(path, {
      path,
      type,
      major: entry.header.devmaj ?? 0,
      minor: entry.header.devmin ?? 0,
      mode: (entry.mode ?? 0o600) & 0o7777,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: entry.mtime,
    });
  }

  /** Reserves the name with an empty placeholder; finish() turns it into the node. */
  private addNode(path: string, node: NodeToMake): void {
    this.clear(path, false);
    closeSync(openSync(this.absolute(path), CREATE_FLAGS, 0o600));
    this.pendingNodes.set(path, { ...node, path });
    this.countEntry(path);
  }

  private applyWhiteout(path: string, entry: ReadEntry): void {
    const name = posix.basename(path);
    const parent = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    this.ensureParents(path);
    if (name === OPAQUE_MARKER) {
      this.opaqueDirectories.add(parent);
      return;
    }
    const hidden = name.slice(WHITEOUT_PREFIX.length);
    // ".wh..wh.*" other than the opaque marker is aufs bookkeeping with no meaning for overlayfs.
    if (hidden.startsWith(WHITEOUT_PREFIX) || hidden === '' || hidden === '.' || hidden === '..') return;
    const hiddenPath = parent === '' ? hidden : `${parent}/${hidden}`;
    this.addNode(hiddenPath, { path: hiddenPath, type: 'char', major: 0, minor: 0, mode: 0, uid: entry.uid ?? 0, gid: entry.gid ?? 0 });
  }
}
