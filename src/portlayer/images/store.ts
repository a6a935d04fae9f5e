// DiskImageStore: the ImageStore over the on-disk layout in layout.ts. Loading unpacks a tarball
// into tmp/, builds each missing layer disk, stores the config, and only then names the image in
// references.json — so an interrupted load leaves nothing visible, and the next open sweeps tmp/.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { digestHex, sha256Digest } from './digest.ts';
import { invalidParameter, notFound } from './errors.ts';
import { parseImageConfig } from './image-config.ts';
import { LayerStore } from './layer-store.ts';
import { configPath, storeLayout, type StoreLayout } from './layout.ts';
import { ReferenceIndex } from './reference-index.ts';
import { DEFAULT_TAG, familiarName, normaliseTag, parseReference } from './references.ts';
import { readImageTarball, type ImageToLoad } from './tarball.ts';
import type { ImageConfigDocument, ImageRecord, ImageStore, LayerRecord, LoadProgress } from './types.ts';

export interface DiskImageStoreOptions {
  /** The datastore's images directory; created if missing. One store per directory at a time. */
  root: string;
}

const FULL_ID = /^(?:sha256:)?([0-9a-f]{64})$/;
const SHORT_ID = /^(?:sha256:)?([0-9a-f]{1,63})$/;

export class DiskImageStore implements ImageStore {
  private readonly layout: StoreLayout;
  private readonly layers: LayerStore;
  private readonly references: ReferenceIndex;
  private readonly configs = new Map<string, ImageConfigDocument>();

  constructor(options: DiskImageStoreOptions) {
    this.layout = storeLayout(options.root);
    for (const dir of [this.layout.root, this.layout.layersDir, this.layout.configsDir, this.layout.tmpDir]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    // Whatever is in tmp/ was never made visible: a load that crashed or was killed.
    for (const leftover of readdirSync(this.layout.tmpDir)) {
      rmSync(join(this.layout.tmpDir, leftover), { recursive: true, force: true });
    }
    this.layers = new LayerStore(this.layout);
    this.references = new ReferenceIndex(this.layout.referencesFile, this.layout.tmpDir);
  }

  async load(tarball: NodeJS.ReadableStream, progress: LoadProgress = () => {}): Promise<string[]> {
    const workDir = await mkdtemp(join(this.layout.tmpDir, 'load-'));
    try {
      const images = await readImageTarball(tarball, workDir, progress);
      const loaded: string[] = [];
      for (const image of images) loaded.push(...(await this.storeImage(image, progress)));
      return loaded;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  list(): ImageRecord[] {
    return this.references.imageIds().flatMap((id) => this.record(id) ?? []);
  }

  resolve(reference: string): ImageRecord | undefined {
    const full = FULL_ID.exec(reference);
    if (full) return this.record(`sha256:${full[1]}`);
    const named = tryParseReference(reference);
    if (named?.digest) {
      const id = this.references.byDigest(`${familiarName(named)}@${named.digest}`);
      return id === undefined ? undefined : this.record(id);
    }
    if (named) {
      const id = this.references.byTag(`${familiarName(named)}:${named.tag ?? DEFAULT_TAG}`);
      if (id !== undefined) return this.record(id);
    }
    // Like Docker, a unique prefix of an id names the image; an ambiguous one names nothing.
    const short = SHORT_ID.exec(reference);
    if (!short) return undefined;
    const matches = this.references.imageIds().filter((id) => id.startsWith(`sha256:${short[1]}`));
    return matches.length === 1 ? this.record(matches[0]) : undefined;
  }

  tag(id: string, reference: string): void {
    const image = this.resolve(id);
    if (!image) throw notFound(`No such image: ${id}`);
    this.references.setTag(normaliseTag(reference), image.id);
  }

  private async storeImage(image: ImageToLoad, progress: LoadProgress): Promise<string[]> {
    const id = sha256Digest(image.configBytes);
    const config = parseImageConfig(image.configBytes, id);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== image.layerFiles.length) {
      throw invalidParameter(`image ${id} lists ${image.layerFiles.length} layers but its config has ${diffIds.length} diff_ids`);
    }
    for (const [index, diffId] of diffIds.entries()) {
      if (!this.layers.get(diffId)) progress(`Loading layer ${digestHex(diffId).slice(0, 12)}`);
      await this.layers.ensure(diffId, image.layerFiles[index]);
    }
    this.storeConfig(id, image.configBytes);
    this.configs.set(id, config);

    const moves = this.references.addImage(id, image.repoTags, image.repoDigests);
    for (const { tag, previousId } of moves) {
      progress(`The image ${tag} already exists, renaming the old one with ID ${previousId} to empty string`);
    }
    for (const tag of image.repoTags) progress(`Loaded image: ${tag}`);
    if (image.repoTags.length === 0) progress(`Loaded image ID: ${id}`);
    return image.repoTags.length > 0 ? image.repoTags : [id];
  }

  private storeConfig(id: string, bytes: Buffer): void {
    const path = configPath(this.layout, id);
    if (existsSync(path)) return;
    const temporary = join(this.layout.tmpDir, `config-${randomBytes(6).toString('hex')}.json`);
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  }

  private config(id: string): ImageConfigDocument | undefined {
    let config = this.configs.get(id);
    if (!config) {
      try {
        config = parseImageConfig(readFileSync(configPath(this.layout, id)), id);
      } catch {
        return undefined;
      }
      this.configs.set(id, config);
    }
    return config;
  }

  /** The full record, or undefined if the image or any of its files is missing. */
  private record(id: string): ImageRecord | undefined {
    if (!this.references.has(id)) return undefined;
    const config = this.config(id);
    if (!config) return undefined;
    const layers: LayerRecord[] = [];
    for (const diffId of config.rootfs.diff_ids) {
      const layer = this.layers.get(diffId);
      if (!layer) return undefined;
      layers.push(layer);
    }
    return {
      id,
      repoTags: this.references.tagsOf(id),
      repoDigests: this.references.digestsOf(id),
      config,
      layers,
      size: layers.reduce((total, layer) => total + layer.size, 0),
      stored: this.references.storedAt(id) ?? '',
    };
  }
}

function tryParseReference(text: string): ReturnType<typeof parseReference> | undefined {
  try {
    return parseReference(text);
  } catch {
    return undefined;
  }
}
