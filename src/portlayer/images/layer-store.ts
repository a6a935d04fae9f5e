// The shared layer pool: one directory per diff_id, built once and never changed. A layer becomes
// visible only by renaming a finished directory (disk + metadata, both flushed) out of tmp/. The disk
// in it is the backend disk store's (DiskStore.importLayer / layerDisk).

import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { digestHex, isSha256Digest } from './digest.ts';
import { buildLayerDisk, type BuildOptions, type BuiltLayerDisk, type LayerBlob } from './layer-disk.ts';
import { LAYER_BLOBS_DIR, LAYER_METADATA_FILE, layerDir, type BlobMetadata, type LayerMetadata, type StoreLayout } from './layout.ts';
import { dockerLayerMediaType } from './media-types.ts';
import type { LayerRecord } from './types.ts';
import type { DiskStore } from '../disks.ts';

/** How to keep the blob a layer was built from: the media type it came with and where from. */
export interface BlobToKeep {
  mediaType?: string;
  source?: string;
}

/** A stored blob of a layer: its metadata and the file holding its bytes. */
export interface StoredBlob extends BlobMetadata {
  path: string;
}

export class LayerStore {
  private readonly layout: StoreLayout;
  private readonly records = new Map<string, LayerRecord>();
  /** Builds in progress, so concurrent loads sharing a layer build it once. */
  readonly building = new Map<string, Promise<LayerRecord>>();

  private readonly buildOptions: BuildOptions;
  private readonly disks: DiskStore;

  constructor(layout: StoreLayout, disks: DiskStore, build: BuildOptions = {}) {
    this.layout = layout;
    this.disks = disks;
    this.buildOptions = build;
  }

  get(diffId: string): LayerRecord | undefined {
    const cached = this.records.get(diffId);
    if (cached) return cached;
    const dir = layerDir(this.layout, diffId);
    let metadata: LayerMetadata;
    try {
      metadata = JSON.parse(readFileSync(join(dir, LAYER_METADATA_FILE), 'utf8')) as LayerMetadata;
    } catch {
      return undefined;
    }
    const record: LayerRecord = { diffId, disk: this.disks.layerDisk(dir), size: metadata.size };
    this.records.set(diffId, record);
    return record;
  }

  /**
   * The layer for `diffId`, built from `blob` unless it is already stored. With `keep`, the blob
   * file is moved into the layer (so it must be the caller's to give away, on the store's filesystem).
   */
  ensure(diffId: string, blob: LayerBlob, keep?: BlobToKeep): Promise<LayerRecord> {
    const existing = this.get(diffId);
    if (existing) return Promise.resolve(existing);
    let pending = this.building.get(diffId);
    if (!pending) {
      pending = this.build(diffId, blob, keep).finally(() => this.building.delete(diffId));
      this.building.set(diffId, pending);
    }
    return pending;
  }

  /** Every stored diff_id. */
  diffIds(): string[] {
    return readdirSync(this.layout.layersDir).filter((hex) => /^[0-9a-f]{64}$/.test(hex)).map((hex) => `sha256:${hex}`);
  }

  metadata(diffId: string): LayerMetadata | undefined {
    try {
      return JSON.parse(readFileSync(join(layerDir(this.layout, diffId), LAYER_METADATA_FILE), 'utf8')) as LayerMetadata;
    } catch {
      return undefined;
    }
  }

  /** The blobs kept for a layer (usually one: the bytes it was pulled or loaded as). */
  blobs(diffId: string): StoredBlob[] {
    const dir = join(layerDir(this.layout, diffId), LAYER_BLOBS_DIR);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const blobs: StoredBlob[] = [];
    for (const name of names) {
      if (!/^[0-9a-f]{64}$/.test(name) || !names.includes(`${name}.json`)) continue;
      try {
        const metadata = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as BlobMetadata;
        if (metadata.digest === `sha256:${name}`) blobs.push({ ...metadata, path: join(dir, name) });
      } catch {
        // a torn sidecar: the blob is not usable
      }
    }
    return blobs;
  }

  /** Keeps one more blob for an existing layer (e.g. the same layer pulled with another compression). */
  async addBlob(diffId: string, blobPath: string, metadata: BlobMetadata): Promise<void> {
    const dir = join(layerDir(this.layout, diffId), LAYER_BLOBS_DIR);
    if (!existsSync(layerDir(this.layout, diffId)) || this.blobs(diffId).some((b) => b.digest === metadata.digest)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const hex = digestHex(metadata.digest, 'blob digest');
    // Blob first, sidecar last: a blob counts only once its sidecar is in place.
    await chmod(blobPath, 0o400);
    syncPath(blobPath);
    await rename(blobPath, join(dir, hex));
    const sidecar = join(this.layout.tmpDir, `blob-${randomBytes(6).toString('hex')}.json`);
    await writeFile(sidecar, `${JSON.stringify(metadata)}\n`, { mode: 0o600 });
    syncPath(sidecar);
    await rename(sidecar, join(dir, `${hex}.json`));
    syncPath(dir);
  }

  /** Deletes a layer's directory. The caller has made sure nothing uses it. */
  async remove(diffId: string): Promise<void> {
    this.records.delete(diffId);
    const dir = layerDir(this.layout, diffId);
    const doomed = join(this.layout.tmpDir, `deleted-${digestHex(diffId).slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(dir, doomed); // out of sight at once; the files go afterwards (or at the next open)
    } catch {
      return;
    }
    // The disk is the disk store's to destroy (qemu: a file in the directory; elsewhere perhaps not).
    await this.disks.destroyDisk(this.disks.layerDisk(doomed));
    await rm(doomed, { recursive: true, force: true });
  }

  private async build(diffId: string, blob: LayerBlob, keep?: BlobToKeep): Promise<LayerRecord> {
    const workDir = await mkdtemp(join(this.layout.tmpDir, `layer-${digestHex(diffId, 'diff_id').slice(0, 12)}-`));
    try {
      const built = await buildLayerDisk(blob, diffId, workDir, this.disks, this.buildOptions);
      const start = performance.now();
      const record = await this.commit(diffId, workDir, blob.path, built, keep);
      this.buildOptions.record?.(diffId, 'commit', performance.now() - start);
      return record;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** Metadata and kept blob next to the disk, everything flushed, then the rename that publishes it. */
  private async commit(diffId: string, workDir: string, blobPath: string, built: BuiltLayerDisk, keep?: BlobToKeep): Promise<LayerRecord> {
    // The disk is in place already, read-only and flushed (importLayer).
    if (keep && isSha256Digest(built.blobDigest)) {
      const blobsDir = join(workDir, LAYER_BLOBS_DIR);
      await mkdir(blobsDir, { mode: 0o700 });
      const hex = digestHex(built.blobDigest);
      await rename(blobPath, join(blobsDir, hex));
      await chmod(join(blobsDir, hex), 0o400);
      const blob: BlobMetadata = {
        digest: built.blobDigest,
        mediaType: keep.mediaType ?? dockerLayerMediaType(built.compression),
        size: built.blobSize,
        ...(keep.source ? { source: keep.source } : {}),
      };
      await writeFile(join(blobsDir, `${hex}.json`), `${JSON.stringify(blob)}\n`, { mode: 0o600 });
      for (const file of [join(blobsDir, hex), join(blobsDir, `${hex}.json`), blobsDir]) syncPath(file);
    }
    const metadata: LayerMetadata = { diffId, size: built.size, created: new Date().toISOString(), tarSize: built.tarSize };
    await writeFile(join(workDir, LAYER_METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
    for (const file of [join(workDir, LAYER_METADATA_FILE), workDir]) syncPath(file);
    const finalDir = layerDir(this.layout, diffId);
    try {
      await rename(workDir, finalDir);
    } catch (error) {
      // Another process stored it meanwhile: theirs is as good as ours.
      if (!existsSync(finalDir)) throw error;
    }
    syncPath(this.layout.layersDir);
    const record = this.get(diffId);
    if (!record) throw new Error(`layer ${diffId} vanished after it was stored`);
    return record;
  }
}

/** fsync a file or directory, so a rename never exposes content still sitting in the page cache. */
export function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
