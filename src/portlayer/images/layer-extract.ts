// Unpacks one layer tar into a directory, as root, ready for `mke2fs -d`:
// ownership, modes, times, symlinks, hard links and device nodes are kept; OCI whiteouts become
// overlayfs ones (".wh.NAME" → char device 0:0 "NAME"; ".wh..wh..opq" → trusted.overlay.opaque=y).
//
// Nothing may land outside the directory: names that climb out with ".." refuse the layer, and so
// does any entry whose parent is a symlink (a link planted earlier in the tar could point anywhere
// on the host). Rooted names ("/etc/x") mean the same as relative ones, as in Docker.

import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ReadEntry } from 'tar';
import { runCommand } from './command.ts';
import { invalidParameter } from './errors.ts';
import { forEachTarEntry } from './tar-entries.ts';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** What was written, for sizing the ext4 image that will hold it. */
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

export async function extractLayer(tar: Readable, rootDir: string, what: string): Promise<ExtractedContent> {
  const extractor = new LayerExtractor(rootDir, what);
  await forEachTarEntry(tar, what, (entry) => extractor.apply(entry));
  await extractor.finish();
  return extractor.content;
}

class LayerExtractor {
  readonly content: ExtractedContent = { contentBytes: 0, dataBlocks: 0, inodes: 0, directories: 0, directoryEntryBytes: 0, longSymlinks: 0 };
  private readonly root: string;
  private readonly what: string;
  /** Relative paths known to be real directories (never symlinks) inside the root. */
  private readonly knownDirectories = new Set<string>(['']);
  private readonly opaqueDirectories = new Set<string>();
  /** Directory times are set last: creating entries inside a directory changes its mtime. */
  private readonly directoryTimes: Array<{ path: string; atime: Date; mtime: Date }> = [];

  constructor(root: string, what: string) {
    this.root = root;
    this.what = what;
  }

  async apply(entry: ReadEntry): Promise<void> {
    const path = this.relativePath(entry.path);
    const name = posix.basename(path);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      entry.resume();
      return this.applyWhiteout(path, entry);
    }
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        return this.writeFile(path, entry);
      case 'Directory':
      case 'GNUDumpDir':
        entry.resume();
        return this.makeDirectory(path, entry);
      case 'SymbolicLink':
        entry.resume();
        return this.makeSymlink(path, entry);
      case 'Link':
        entry.resume();
        return this.makeHardLink(path, entry);
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        entry.resume();
        return this.makeNode(path, entry);
      default:
        entry.resume(); // sparse files, volume labels…: nothing a container can use
    }
  }

  async finish(): Promise<void> {
    const opaque: string[] = [];
    for (const path of this.opaqueDirectories) {
      const stats = await lstat(this.absolute(path)).catch(() => undefined);
      if (stats?.isDirectory()) opaque.push(this.absolute(path));
    }
    for (let i = 0; i < opaque.length; i += 200) {
      await runCommand('setfattr', ['-h', '-n', OPAQUE_XATTR, '-v', 'y', '--', ...opaque.slice(i, i + 200)]);
    }
    for (const { path, atime, mtime } of this.directoryTimes) {
      await utimes(path, atime, mtime).catch(() => {}); // the directory may have been replaced since
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
  private async ensureParents(path: string): Promise<void> {
    const parts = path.split('/').slice(0, -1);
    let current = '';
    for (const part of parts) {
      current = current === '' ? part : `${current}/${part}`;
      if (this.knownDirectories.has(current)) continue;
      const stats = await lstat(this.absolute(current)).catch(() => undefined);
      if (stats === undefined) {
        await mkdir(this.absolute(current), { mode: 0o755 });
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
  private async clear(path: string, keepDirectory: boolean): Promise<boolean> {
    if (path === '') return true;
    await this.ensureParents(path);
    const stats = await lstat(this.absolute(path)).catch(() => undefined);
    if (stats === undefined) return false;
    if (keepDirectory && stats.isDirectory()) return true;
    await rm(this.absolute(path), { recursive: true, force: true });
    for (const known of this.knownDirectories) {
      if (known === path || known.startsWith(`${path}/`)) this.knownDirectories.delete(known);
    }
    return false;
  }

  private countEntry(path: string): void {
    this.content.inodes++;
    this.content.directoryEntryBytes += 8 + Math.ceil(Buffer.byteLength(posix.basename(path)) / 4) * 4;
  }

  private async setOwnerAndMode(absolute: string, entry: ReadEntry): Promise<void> {
    await lchown(absolute, entry.uid ?? 0, entry.gid ?? 0);
    // chmod after chown: chown clears set-id bits.
    if (entry.mode !== undefined) await chmod(absolute, entry.mode & 0o7777);
  }

  private async writeFile(path: string, entry: ReadEntry): Promise<void> {
    if (path === '') {
      entry.resume();
      return;
    }
    await this.clear(path, false);
    const absolute = this.absolute(path);
    await new Promise<void>((resolve, reject) => {
      // 'wx' (O_EXCL) also refuses to follow a symlink that appeared at this name.
      const out = createWriteStream(absolute, { flags: 'wx', mode: 0o600 });
      out.on('error', (error) => {
        entry.unpipe(out);
        reject(error);
      });
      out.on('close', () => resolve());
      entry.pipe(out);
    });
    await this.setOwnerAndMode(absolute, entry);
    if (entry.mtime) await utimes(absolute, entry.atime ?? entry.mtime, entry.mtime);
    const size = entry.size ?? 0;
    this.countEntry(path);
    this.content.contentBytes += size;
    this.content.dataBlocks += Math.ceil(size / 4096);
  }

  private async makeDirectory(path: string, entry: ReadEntry): Promise<void> {
    const existed = await this.clear(path, true);
    const absolute = this.absolute(path);
    if (!existed) {
      await mkdir(absolute, { mode: 0o755 });
      this.countEntry(path);
      this.content.directories++;
    }
    this.knownDirectories.add(path);
    await this.setOwnerAndMode(absolute, entry);
    if (entry.mtime) this.directoryTimes.push({ path: absolute, atime: entry.atime ?? entry.mtime, mtime: entry.mtime });
  }

  private async makeSymlink(path: string, entry: ReadEntry): Promise<void> {
    const target = entry.linkpath ?? '';
    if (path === '' || target === '') return;
    await this.clear(path, false);
    const absolute = this.absolute(path);
    // The target is stored as text and only followed inside the container's own root.
    await symlink(target, absolute);
    await lchown(absolute, entry.uid ?? 0, entry.gid ?? 0);
    if (entry.mtime) await lutimes(absolute, entry.atime ?? entry.mtime, entry.mtime);
    this.countEntry(path);
    if (Buffer.byteLength(target) >= 60) this.content.longSymlinks++;
  }

  private async makeHardLink(path: string, entry: ReadEntry): Promise<void> {
    const target = this.relativePath(entry.linkpath ?? '');
    if (path === '' || target === '' || target === path) return;
    await this.ensureParents(target);
    const targetStats = await lstat(this.absolute(target)).catch(() => undefined);
    if (targetStats === undefined || targetStats.isDirectory()) {
      throw invalidParameter(`${this.what}: hard link "${path}" points at "${target}", which is not a file in this layer`);
    }
    await this.clear(path, false);
    await link(this.absolute(target), this.absolute(path)); // link(2) does not follow a symlink target
    this.content.directoryEntryBytes += 8 + Math.ceil(Buffer.byteLength(posix.basename(path)) / 4) * 4;
  }

  private async makeNode(path: string, entry: ReadEntry): Promise<void> {
    if (path === '') return;
    await this.clear(path, false);
    const absolute = this.absolute(path);
    const kind = entry.type === 'FIFO' ? ['p'] : [entry.type === 'BlockDevice' ? 'b' : 'c', String(entry.header.devmaj ?? 0), String(entry.header.devmin ?? 0)];
    await runCommand('mknod', ['-m', '0600', '--', absolute, ...kind]);
    await this.setOwnerAndMode(absolute, entry);
    if (entry.mtime) await utimes(absolute, entry.atime ?? entry.mtime, entry.mtime);
    this.countEntry(path);
  }

  private async applyWhiteout(path: string, entry: ReadEntry): Promise<void> {
    const name = posix.basename(path);
    const parent = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    await this.ensureParents(path);
    if (name === OPAQUE_MARKER) {
      this.opaqueDirectories.add(parent);
      return;
    }
    const hidden = name.slice(WHITEOUT_PREFIX.length);
    // ".wh..wh.*" other than the opaque marker is aufs bookkeeping with no meaning for overlayfs.
    if (hidden.startsWith(WHITEOUT_PREFIX) || hidden === '' || hidden === '.' || hidden === '..') return;
    const hiddenPath = parent === '' ? hidden : `${parent}/${hidden}`;
    await this.clear(hiddenPath, false);
    const absolute = this.absolute(hiddenPath);
    await runCommand('mknod', ['-m', '0000', '--', absolute, 'c', '0', '0']);
    await lchown(absolute, entry.uid ?? 0, entry.gid ?? 0);
    this.countEntry(hiddenPath);
  }
}
