// The shared layer pool: one directory per diff_id, built once and never changed. A layer becomes
// visible only by renaming a finished directory (disk + metadata, both flushed) out of tmp/.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex } from './digest.ts';
import { buildLayerDisk } from './layer-disk.ts';
import { LAYER_DISK_FILE, LAYER_METADATA_FILE, layerDir, type LayerMetadata, type StoreLayout } from './layout.ts';
import type { LayerRecord } from './types.ts';

export class LayerStore {
  private readonly layout: StoreLayout;
  private readonly records = new Map<string, LayerRecord>();
  /** Builds in progress, so concurrent loads sharing a layer build it once. */
  private readonly building = new Map<string, Promise<LayerRecord>>();

  constructor(layout: StoreLayout) {
    this.layout = layout;
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
    const record: LayerRecord = { diffId, diskPath: join(dir, LAYER_DISK_FILE), size: metadata.size };
    this.records.set(diffId, record);
    return record;
  }

  /** The layer for `diffId`, built from `blobPath` unless it is already stored. */
  ensure(diffId: string, blobPath: string): Promise<LayerRecord> {
    const existing = this.get(diffId);
    if (existing) return Promise.resolve(existing);
    let pending = this.building.get(diffId);
    if (!pending) {
      pending = this.build(diffId, blobPath).finally(() => this.building.delete(diffId));
      this.building.set(diffId, pending);
    }
    return pending;
  }

  private async build(diffId: string, blobPath: string): Promise<LayerRecord> {
    const workDir = await mkdtemp(join(this.layout.tmpDir, `layer-${digestHex(diffId, 'diff_id').slice(0, 12)}-`));
    try {
      const diskPath = join(workDir, LAYER_DISK_FILE);
      const { size } = await buildLayerDisk(blobPath, diffId, workDir, diskPath);
      await chmod(diskPath, 0o444); // shared by every image and container using it: never written
      const metadata: LayerMetadata = { diffId, size, created: new Date().toISOString() };
      await writeFile(join(workDir, LAYER_METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o644 });
      for (const file of [diskPath, join(workDir, LAYER_METADATA_FILE), workDir]) syncPath(file);
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
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
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
