// The files of an image tarball (docker save / OCI layout), unpacked to numbered temp files so that
// layers are streamed to disk, never held in memory, and archive names never become host paths.
// Symlinks and hard links inside the archive (old `docker save` links duplicate layers) are
// followed by name, within the archive only.

import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidParameter } from './errors.ts';
import { forEachTarEntry } from './tar-entries.ts';

const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_LINK_HOPS = 16;

export class ArchiveFiles {
  private readonly files = new Map<string, string>();
  private readonly links = new Map<string, string>();

  /** The temp file holding archive member `name`, after following links; undefined when absent. */
  path(name: string): string | undefined {
    let current = normaliseName(name);
    for (let hops = 0; current !== undefined && hops <= MAX_LINK_HOPS; hops++) {
      const file = this.files.get(current);
      if (file !== undefined) return file;
      current = this.links.get(current);
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.path(name) !== undefined;
  }

  /** A member's bytes; for the small JSON documents only. */
  async read(name: string): Promise<Buffer> {
    const file = this.path(name);
    if (file === undefined) throw invalidParameter(`image tarball has no "${name}"`);
    if ((await stat(file)).size > MAX_JSON_BYTES) throw invalidParameter(`"${name}" in the image tarball is too large`);
    return readFile(file);
  }

  async readJson(name: string): Promise<unknown> {
    const bytes = await this.read(name);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw invalidParameter(`"${name}" in the image tarball is not valid JSON`, error);
    }
  }

  addFile(name: string, path: string): void {
    this.files.set(name, path);
    this.links.delete(name);
  }

  addLink(name: string, target: string): void {
    this.links.set(name, target);
    this.files.delete(name);
  }
}

/** Archive-relative name without "./", leading "/" or trailing "/"; undefined if it climbs out. */
function normaliseName(name: string): string | undefined {
  const normal = posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../') || normal === '.') return undefined;
  return normal;
}

export async function unpackArchive(tar: Readable, workDir: string): Promise<ArchiveFiles> {
  const archive = new ArchiveFiles();
  let counter = 0;
  await forEachTarEntry(tar, 'image tarball', async (entry) => {
    const name = normaliseName(entry.path);
    if (name === undefined) return void entry.resume();
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        const file = join(workDir, `member-${counter++}`);
        await new Promise<void>((resolve, reject) => {
          const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
          out.on('error', (error) => {
            entry.unpipe(out);
            reject(error);
          });
          out.on('close', () => resolve());
          entry.pipe(out);
        });
        archive.addFile(name, file);
        return;
      }
      case 'SymbolicLink': {
        entry.resume();
        const linkpath = entry.linkpath ?? '';
        const target = normaliseName(linkpath.startsWith('/') ? linkpath : posix.join(posix.dirname(name), linkpath));
        if (target !== undefined) archive.addLink(name, target);
        return;
      }
      case 'Link': {
        entry.resume();
        const target = normaliseName(entry.linkpath ?? '');
        if (target !== undefined) archive.addLink(name, target);
        return;
      }
      default:
        entry.resume();
    }
  });
  return archive;
}
