// Shared by the image store tests: scratch directories, hand-made layer tars, ext4 inspection.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Header, Pax } from 'tar';
import { imageConfig } from '../fixtures/images.ts';
import { FIXED_TIME, writeDockerArchive } from '../fixtures/image-tarballs.ts';

export async function scratchDir(t: { after: (fn: () => Promise<void>) => void }, prefix = 'bonneville-images-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface TarEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  content?: string;
  linkpath?: string;
  mode?: number;
  uid?: number;
  devmaj?: number;
  devmin?: number;
}

/** A tar built entry by entry (node-tar encodes the headers), so tests can write hostile names. */
export function makeTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.content ?? '');
    const type = entry.type ?? 'File';
    const header = new Header({
      path: entry.path,
      type,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      uid: entry.uid ?? 0,
      gid: 0,
      size: type === 'File' ? body.length : 0,
      mtime: FIXED_TIME,
      linkpath: entry.linkpath,
      devmaj: entry.devmaj,
      devmin: entry.devmin,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    // Names past 100 bytes travel in a pax header, as real tools write them.
    if (header.needPax) blocks.push(new Pax({ path: entry.path, linkpath: entry.linkpath }).encode());
    blocks.push(block);
    if (type === 'File' && body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Writes a one-layer docker-save tarball; `diffId` defaults to the layer's true digest. */
export async function singleLayerImage(dir: string, layer: Buffer, tag: string, diffId = sha256(layer)): Promise<string> {
  const layerPath = join(dir, `layer-${Math.random().toString(36).slice(2)}.tar`);
  await writeFile(layerPath, layer);
  const tarball = join(dir, `${tag.replace(/[:/]/g, '_')}.tar`);
  await writeDockerArchive(tarball, [{ config: imageConfig([diffId], ['test layer']), layers: [layerPath], repoTags: [tag] }]);
  return tarball;
}

/** Runs one debugfs request against an ext4 image (read-only, no mount). */
export function debugfs(image: string, request: string): string {
  return execFileSync('debugfs', ['-R', request, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
