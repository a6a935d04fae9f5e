// A tree of files unpacked from a tar stream (the build context, or an image's filesystem for
// COPY --from): regular files' bytes go to a private directory under numbered names, their metadata
// (type, mode, link target) stays in an index. Nothing is created with the archive's names or owners
// on the host, so a hostile context can neither escape the directory nor plant devices or setuid files.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { forEachTarEntry } from '../../portlayer/images/tar-entries.ts';

export interface TreeNode {
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  /** Permission bits (with setuid/setgid/sticky). */
  mode: number;
  size: number;
  mtime: Date;
  /** Symlink target, or the tree path a hard link names. */
  link?: string;
  /** Where a regular file's bytes are kept on the host. */
  content?: string;
}

export class FileTree {
  /** Clean relative paths ("a/b.txt"; "" is the root) → node. */
  readonly nodes = new Map<string, TreeNode>();

  constructor() {
    this.nodes.set('', { type: 'dir', mode: 0o755, size: 0, mtime: new Date(0) });
  }

  get(path: string): TreeNode | undefined {
    return this.nodes.get(cleanPath(path));
  }

  /** Paths directly inside `dir`. */
  children(dir: string): string[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    return [...this.nodes.keys()].filter((p) => p !== '' && p.startsWith(prefix) && !p.slice(prefix.length).includes('/'));
  }

  /** `dir` and every path below it, parents first. */
  subtree(dir: string): string[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    return [...this.nodes.keys()].filter((p) => p === dir || p.startsWith(prefix)).sort();
  }

  add(path: string, node: TreeNode): void {
    const clean = cleanPath(path);
    if (clean === '') return;
    // Parents an archive does not list exist as plain directories (as when dockerd unpacks it).
    for (let parent = posix.dirname(clean); parent !== '.' && !this.nodes.has(parent); parent = posix.dirname(parent)) {
      this.nodes.set(parent, { type: 'dir', mode: 0o755, size: 0, mtime: node.mtime });
    }
    this.nodes.set(clean, node);
  }

  /** Unpacks a tar stream; `wanted` (a clean path) filters entries before their bytes are kept. */
  static async unpack(tar: Readable, dir: string, what: string, wanted: (path: string) => boolean = () => true): Promise<FileTree> {
    const tree = new FileTree();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let counter = 0;
    await forEachTarEntry(tar, what, async (entry) => {
      const path = cleanPath(entry.path);
      const mode = (entry.mode ?? 0o644) & 0o7777;
      const mtime = entry.mtime ?? new Date(0);
      if (path === '' || !wanted(path)) return void entry.resume();
      switch (entry.type) {
        case 'File':
        case 'OldFile':
        case 'ContiguousFile': {
          const content = join(dir, String(counter++));
          await pipeline(entry, createWriteStream(content, { mode: 0o600 }));
          tree.add(path, { type: 'file', mode, size: entry.size ?? 0, mtime, content });
          return;
        }
        case 'Directory':
          tree.add(path, { type: 'dir', mode, size: 0, mtime });
          break;
        case 'SymbolicLink':
          tree.add(path, { type: 'symlink', mode: 0o777, size: 0, mtime, link: entry.linkpath });
          break;
        case 'Link':
          tree.add(path, { type: 'hardlink', mode, size: 0, mtime, link: cleanPath(entry.linkpath ?? '') });
          break;
        default:
          break; // devices and fifos are not build context material
      }
      entry.resume();
    });
    return tree;
  }
}

/** "./a//b/" → "a/b"; "/" and "." → "". Never leaves the root ("../x" → "x"). */
export function cleanPath(path: string): string {
  const normal = posix.normalize(`/${path}`);
  return normal === '/' ? '' : normal.replace(/^\/+/, '').replace(/\/+$/, '');
}
