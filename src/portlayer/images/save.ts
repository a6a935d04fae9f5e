// `docker save`: a docker-save tarball (manifest.json, configs and uncompressed layer tars under
// blobs/sha256/) written straight to the response. Layer tars are the kept blobs, decompressed when
// they were compressed: their digests are the diff_ids, so the images load back with the same ids.

import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Header } from 'tar';
import { openDecompressed } from './compression.ts';
import { digestHex } from './digest.ts';
import { invalidParameter } from './errors.ts';
import type { StoredBlob } from './layer-store.ts';

export interface ImageToSave {
  configPath: string;
  configDigest: string;
  tags: string[];
  layers: Array<{ diffId: string; blobs: StoredBlob[]; tarSize?: number }>;
}

const BLOCK = 512;
const MTIME = new Date(0);

export async function writeImageArchive(images: ImageToSave[], out: NodeJS.WritableStream): Promise<void> {
  const writer = new TarWriter(out);
  const written = new Set<string>();
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const image of images) {
    const configName = `blobs/sha256/${digestHex(image.configDigest)}`;
    if (!written.has(configName)) {
      await writer.file(configName, await readFile(image.configPath));
      written.add(configName);
    }
    const layerNames: string[] = [];
    for (const layer of image.layers) {
      const name = `blobs/sha256/${digestHex(layer.diffId)}`;
      layerNames.push(name);
      if (written.has(name)) continue;
      const blob = layer.blobs[0];
      if (!blob) throw invalidParameter(`layer ${layer.diffId} has no stored blob to save (it was stored before blobs were kept): pull or load the image again`);
      const size = layer.tarSize ?? (await countBytes(await openDecompressed(blob.path, `layer ${layer.diffId}`)));
      await writer.stream(name, size, await openDecompressed(blob.path, `layer ${layer.diffId}`));
      written.add(name);
    }
    manifest.push({ Config: configName, RepoTags: image.tags, Layers: layerNames });
  }
  await writer.file('manifest.json', Buffer.from(JSON.stringify(manifest)));
  await writer.end();
}

async function countBytes(stream: Readable): Promise<number> {
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) total += chunk.length;
  return total;
}

/** Just enough tar writing for regular files, with backpressure. */
class TarWriter {
  private readonly out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream) {
    this.out = out;
  }

  private async write(chunk: Buffer): Promise<void> {
    if (!this.out.write(chunk)) await once(this.out as unknown as NodeJS.EventEmitter, 'drain');
  }

  private async header(path: string, size: number): Promise<void> {
    const block = Buffer.alloc(BLOCK);
    new Header({ path, mode: 0o644, uid: 0, gid: 0, size, mtime: MTIME, type: 'File', uname: '', gname: '' }).encode(block, 0);
    await this.write(block);
  }

  async file(path: string, bytes: Buffer): Promise<void> {
    await this.header(path, bytes.length);
    await this.write(bytes);
    await this.pad(bytes.length);
  }

  async stream(path: string, size: number, content: Readable): Promise<void> {
    await this.header(path, size);
    let sent = 0;
    for await (const chunk of content as AsyncIterable<Buffer>) {
      sent += chunk.length;
      if (sent > size) throw new Error(`${path} grew while it was being saved`);
      await this.write(chunk);
    }
    if (sent !== size) throw new Error(`${path} has ${sent} bytes, expected ${size}`);
    await this.pad(size);
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.write(Buffer.alloc(BLOCK - rest));
  }

  async end(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
  }
}

