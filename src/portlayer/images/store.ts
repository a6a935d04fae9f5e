// DiskImageStore: the ImageStore over the on-disk layout in layout.ts. Loading unpacks a tarball
// into tmp/, builds each missing layer disk, stores the config, and only then names the image in
// references.json — so an interrupted load leaves nothing visible, and the next open sweeps tmp/.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { digestHex, sha256Digest } from './digest.ts';
import { withoutRuntimeFiles } from './filesystem-changes.ts';
import type { DiskStore, FilesystemChange, FilesystemDisks, StoppedContainerFiles } from '../disks.ts';
import { PortLayerError } from '../errors.ts';
import { conflict, invalidParameter, notFound } from './errors.ts';
import { parseImageConfig } from './image-config.ts';
import { blobFile, type LayerBlob } from './layer-disk.ts';
import { LayerStore, type BlobToKeep, type StoredBlob } from './layer-store.ts';
import { IGNORE_PHASES, type PhaseRecorder } from './phase-times.ts';
import { runBounded } from './progress.ts';
import { LayerStaging } from './staging.ts';
import { configPath, storeLayout, type StoreLayout } from './layout.ts';
import { ManifestStore } from './manifest-store.ts';
import { ReferenceIndex } from './reference-index.ts';
import { DEFAULT_TAG, familiarName, normaliseTag, parseReference } from './references.ts';
import { readImageTarball, type ImageToLoad } from './tarball.ts';
import { pullImage, type PullRequest, type PullResult, type PullTarget } from './pull.ts';
import { pushImage, type PushRequest, type PushSource } from './push.ts';
import { importRootfs, type ImportRequest } from './import.ts';
import { commitContainer, type CommitRequest } from './commit.ts';
import { childImage, type ChildImageRequest } from './child-image.ts';
import type { Writable } from 'node:stream';
import { writeImageArchive } from './save.ts';
import type { FetchedManifest } from './registry/distribution.ts';
import type { ManifestMetadata } from './layout.ts';
import type { DeleteRecord, ImageConfigDocument, ImageRecord, ImageUsage, LayerRecord, LoadProgress, ManagedImageStore } from './types.ts';

export interface DiskImageStoreOptions {
  /** The datastore's images directory; created if missing. One store per directory at a time. */
  root: string;
  /** The backend's disk store: makes the layer disks, and reads containers' disks for commit, diff and export. */
  disks: DiskStore;
  /** Which containers use which images and layers; wired later with useUsage() when not known yet. */
  usage?: ImageUsage;
  /** Where to unpack layers before they become disk images: a tmpfs (default /dev/shm), or null for the store's tmp/. */
  stagingTmpfs?: string | null;
  /** The most one layer may take on that tmpfs (default 1 GiB, less when memory is short); bigger ones unpack on disk. */
  stagingMaxBytes?: number;
  /** Told where each layer's build time goes (benchmarks, diagnosis). */
  phases?: PhaseRecorder;
}

const PARALLEL_LAYER_BUILDS = 2;

const NO_USAGE: ImageUsage = { layerDisksInUse: () => new Set(), containersUsing: () => [] };

const FULL_ID = /^(?:sha256:)?([0-9a-f]{64})$/;
const SHORT_ID = /^(?:sha256:)?([0-9a-f]{1,63})$/;

export class DiskImageStore implements ManagedImageStore, PullTarget, PushSource {
  private readonly layout: StoreLayout;
  private readonly layers: LayerStore;
  private readonly references: ReferenceIndex;
  private readonly manifests: ManifestStore;
  private readonly configs = new Map<string, ImageConfigDocument>();
  private usage: ImageUsage;
  private readonly disks: DiskStore;
  readonly phases: PhaseRecorder;

  constructor(options: DiskImageStoreOptions) {
    this.layout = storeLayout(options.root);
    for (const dir of [this.layout.root, this.layout.layersDir, this.layout.configsDir, this.layout.tmpDir, this.layout.manifestsDir]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    // Whatever is in tmp/ was never made visible: a load that crashed or was killed.
    for (const leftover of readdirSync(this.layout.tmpDir)) {
      rmSync(join(this.layout.tmpDir, leftover), { recursive: true, force: true });
    }
    this.phases = options.phases ?? IGNORE_PHASES;
    this.disks = options.disks;
    this.layers = new LayerStore(this.layout, options.disks, { staging: new LayerStaging(this.layout.root, options.stagingTmpfs, options.stagingMaxBytes), record: this.phases });
    this.references = new ReferenceIndex(this.layout.referencesFile, this.layout.tmpDir);
    this.manifests = new ManifestStore(this.layout);
    this.usage = options.usage ?? NO_USAGE;
  }

  /** Tells the store which images and layer disks containers use (so deletes never pull them away). */
  useUsage(usage: ImageUsage): void {
    this.usage = usage;
  }

  get tmpDir(): string {
    return this.layout.tmpDir;
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

  pull(request: PullRequest): Promise<PullResult> {
    return pullImage(this, request);
  }

  push(request: PushRequest): Promise<void> {
    return pushImage(this, request);
  }

  /** `docker import`: a rootfs tarball becomes a one-layer image. Returns its id. */
  async importRootfs(request: ImportRequest): Promise<string> {
    const workDir = await mkdtemp(join(this.layout.tmpDir, 'import-'));
    try {
      const image = await importRootfs(request, workDir);
      await this.storeImage(image, () => {});
      return sha256Digest(image.configBytes);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** `docker save`: a docker-save tarball of the named images onto `out`. */
  /** `docker commit`: stores the container's changes as a new image on top of its image; returns the id. */
  async commit(request: Omit<CommitRequest, 'parent'> & { parentId: string }): Promise<string> {
    const parent = this.config(request.parentId);
    if (!parent) throw notFound(`No such image: ${request.parentId}`);
    for (const diffId of parent.rootfs.diff_ids) {
      if (!this.layers.get(diffId)) throw conflict(`cannot commit: layer ${diffId} of the container's image is no longer stored`);
    }
    const workDir = await mkdtemp(join(this.layout.tmpDir, 'commit-'));
    try {
      // Parent layers are stored already, so their blob files are never opened.
      const files = this.containerFiles('commit');
      const image = await commitContainer({ ...request, parent }, workDir, (out) => files.writeChangesLayer(request.filesystem, out, workDir), () => join(workDir, 'stored-layer'));
      await this.storeImage(image, () => {}, parent === undefined ? undefined : this.resolve(request.parentId)?.id);
      return sha256Digest(image.configBytes);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** A build step's image: the parent's layers (none for scratch) plus an optional new layer, with a new config. */
  async addChild(request: ChildImageRequest): Promise<string> {
    const parent = request.parentId === undefined ? undefined : this.config(request.parentId);
    if (request.parentId !== undefined && !parent) throw notFound(`No such image: ${request.parentId}`);
    for (const diffId of parent?.rootfs.diff_ids ?? []) {
      if (!this.layers.get(diffId)) throw conflict(`cannot build on ${request.parentId}: its layer ${diffId} is no longer stored`);
    }
    const workDir = await mkdtemp(join(this.layout.tmpDir, 'child-'));
    try {
      const image = await childImage(request, parent, () => join(workDir, 'stored-layer'));
      await this.storeImage(image, () => {}, request.parentId);
      return sha256Digest(image.configBytes);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** `docker diff`: the container's changes against its image. */
  async changes(filesystem: FilesystemDisks): Promise<FilesystemChange[]> {
    return withoutRuntimeFiles(await this.containerFiles('diff').changes(filesystem, this.layout.tmpDir));
  }

  exportFilesystem(filesystem: FilesystemDisks, out: NodeJS.WritableStream): Promise<void> {
    return this.containerFiles('export').exportFilesystem(filesystem, out as Writable, this.layout.tmpDir);
  }

  /** The disk store's access to containers' disks; a backend without it cannot serve `what` (501). */
  private containerFiles(what: string): StoppedContainerFiles {
    if (!this.disks.files) throw new PortLayerError('NotImplemented', `this VCH's backend cannot read a container's disks: docker ${what} is not supported`);
    return this.disks.files;
  }

  async save(references: string[], out: NodeJS.WritableStream): Promise<void> {
    const images = references.map((reference) => {
      const image = this.resolve(reference);
      if (!image) throw notFound(`No such image: ${reference}`);
      let tag: string | undefined;
      try {
        tag = image.repoTags.includes(normaliseTag(reference)) ? normaliseTag(reference) : undefined;
      } catch {
        tag = undefined; // an id or a digest reference: the image goes without a name
      }
      return { image, tags: tag ? [tag] : [] };
    });
    // One entry per image; `docker save a b` of two tags of one image keeps both names.
    const merged = new Map<string, { image: ImageRecord; tags: string[] }>();
    for (const { image, tags } of images) {
      const entry = merged.get(image.id) ?? { image, tags: [] };
      for (const tag of tags) if (!entry.tags.includes(tag)) entry.tags.push(tag);
      merged.set(image.id, entry);
    }
    await writeImageArchive([...merged.values()].map(({ image, tags }) => ({
      configPath: configPath(this.layout, image.id),
      configDigest: image.id,
      tags,
      layers: image.layers.map((layer) => ({ diffId: layer.diffId, blobs: this.layers.blobs(layer.diffId), tarSize: this.layers.metadata(layer.diffId)?.tarSize })),
    })), out);
  }

  /** `docker rmi`: untags, and deletes the image once nothing names it. Docker's conflict rules apply. */
  async remove(reference: string, options: { force?: boolean; prune?: boolean } = {}): Promise<DeleteRecord[]> {
    const image = this.resolve(reference);
    if (!image) throw notFound(`No such image: ${reference}`);
    const force = options.force ?? false;
    const users = this.usage.containersUsing(image.id);
    const running = users.find((u) => u.running);
    const shortImage = digestHex(image.id).slice(0, 12);
    const named = namedReference(reference, image);
    const records: DeleteRecord[] = [];
    if (named) {
      const references = image.repoTags.length + image.repoDigests.length;
      if (references <= 1 && users.length > 0 && !force) {
        throw conflict(`conflict: unable to remove repository reference "${reference}" (must force) - container ${users[0].id.slice(0, 12)} is using its referenced image ${shortImage}`);
      }
      this.untag(named, image, records);
      const left = this.record(image.id);
      // Like Docker: untagging the last name of an image a container uses leaves it dangling, unless forced.
      if (!left || left.repoTags.length + left.repoDigests.length > 0 || running || (users.length > 0 && !force)) return records;
    } else {
      const repositories = new Set([...image.repoTags.map((t) => t.slice(0, t.lastIndexOf(':'))), ...image.repoDigests.map((d) => d.slice(0, d.indexOf('@')))]);
      if (repositories.size > 1 && !force) {
        throw conflict(`conflict: unable to delete ${shortImage} (must be forced) - image is referenced in multiple repositories`);
      }
      if (running) throw conflict(`conflict: unable to delete ${shortImage} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
      if (users.length > 0 && !force) {
        throw conflict(`conflict: unable to delete ${shortImage} (must be forced) - image is being used by stopped container ${users[0].id.slice(0, 12)}`);
      }
      for (const tag of image.repoTags) records.push({ Untagged: tag });
      for (const digest of image.repoDigests) records.push({ Untagged: digest });
    }
    records.push(...(await this.deleteImage(image.id)));
    return records;
  }

  /** `docker image prune`: dangling images (or, with `all`, every image no container uses). */
  async prune(options: { all?: boolean; keep?: (image: ImageRecord) => boolean } = {}): Promise<{ deleted: DeleteRecord[]; reclaimed: number }> {
    const before = this.layersBytes();
    const deleted: DeleteRecord[] = [];
    for (const image of this.list()) {
      if (!options.all && image.repoTags.length > 0) continue;
      if (options.keep?.(image)) continue;
      if (this.usage.containersUsing(image.id).length > 0) continue;
      for (const tag of image.repoTags) deleted.push({ Untagged: tag });
      for (const digest of image.repoDigests) deleted.push({ Untagged: digest });
      deleted.push(...(await this.deleteImage(image.id)));
    }
    await this.collectLayers();
    return { deleted, reclaimed: Math.max(0, before - this.layersBytes()) };
  }

  /** Bytes of layer content stored, shared or not (what `docker system df` calls layers size). */
  layersBytes(): number {
    return this.layers.diffIds().reduce((total, diffId) => total + (this.layers.get(diffId)?.size ?? 0), 0);
  }

  private untag(named: string, image: ImageRecord, records: DeleteRecord[]): void {
    if (named.includes('@')) {
      if (this.references.removeDigest(named)) records.push({ Untagged: named });
      return;
    }
    if (this.references.removeTag(named)) records.push({ Untagged: named });
    // The last tag of a repository takes that repository's digest references with it, as in Docker.
    const repository = named.slice(0, named.lastIndexOf(':'));
    if (!this.references.tagsOf(image.id).some((tag) => tag.slice(0, tag.lastIndexOf(':')) === repository)) {
      for (const digest of this.references.digestsOf(image.id)) {
        if (digest.slice(0, digest.indexOf('@')) === repository && this.references.removeDigest(digest)) records.push({ Untagged: digest });
      }
    }
  }

  /** Forgets the image (one atomic write), then removes its files and the layers nothing uses. */
  private async deleteImage(id: string): Promise<DeleteRecord[]> {
    this.references.removeImage(id);
    this.configs.delete(id);
    await rm(configPath(this.layout, id), { force: true });
    for (const manifest of this.manifests.forImage(id)) await this.manifests.remove(manifest.digest);
    await this.collectLayers();
    return [{ Deleted: id }];
  }

  /** Removes layers that no image lists and no container uses (also what a crashed pull left). */
  private async collectLayers(): Promise<void> {
    const wanted = new Set<string>();
    for (const id of this.references.imageIds()) for (const diffId of this.config(id)?.rootfs.diff_ids ?? []) wanted.add(diffId);
    const inUse = this.usage.layerDisksInUse();
    for (const diffId of this.layers.diffIds()) {
      if (wanted.has(diffId) || this.layers.building.has(diffId)) continue;
      const layer = this.layers.get(diffId);
      if (layer && inUse.has(layer.disk)) continue;
      await this.layers.remove(diffId);
    }
  }

  /** The image's config document, byte for byte (for history and save). */
  configBytes(id: string): Buffer {
    return readFileSync(configPath(this.layout, id));
  }

  // PullTarget

  hasLayer(diffId: string): boolean {
    return this.layers.get(diffId) !== undefined;
  }

  async buildLayer(diffId: string, blob: LayerBlob, keep: BlobToKeep): Promise<void> {
    await this.layers.ensure(diffId, blob, keep);
  }

  hasImage(id: string): boolean {
    return this.record(id) !== undefined;
  }

  async commitImage(image: { configBytes: Buffer; manifest: FetchedManifest; source: string; tags: string[]; repoDigests: string[] }): Promise<void> {
    const id = sha256Digest(image.configBytes);
    const config = parseImageConfig(image.configBytes, id);
    for (const diffId of config.rootfs.diff_ids) {
      if (!this.layers.get(diffId)) throw new Error(`layer ${diffId} of image ${id} is missing after the pull`);
    }
    this.storeConfig(id, image.configBytes);
    this.configs.set(id, config);
    await this.manifests.save(image.manifest.bytes, { mediaType: image.manifest.mediaType, config: id, source: image.source });
    this.references.addImage(id, image.tags, image.repoDigests);
  }

  // PushSource

  layerBlobs(diffId: string): StoredBlob[] {
    return this.layers.blobs(diffId);
  }

  storedManifests(id: string): ManifestMetadata[] {
    return this.manifests.forImage(id);
  }

  readManifest(digest: string): Buffer | undefined {
    return this.manifests.read(digest)?.bytes;
  }

  async recordPush(id: string, manifest: Buffer, mediaType: string, repository: string, repoDigest: string): Promise<void> {
    await this.manifests.save(manifest, { mediaType, config: id, source: repository });
    if (this.references.has(id)) this.references.addDigest(repoDigest, id);
  }

  /** `parent`: the local image a commit was made on. */
  private async storeImage(image: ImageToLoad, progress: LoadProgress, parent?: string): Promise<string[]> {
    const id = sha256Digest(image.configBytes);
    const config = parseImageConfig(image.configBytes, id);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== image.layerFiles.length) {
      throw invalidParameter(`image ${id} lists ${image.layerFiles.length} layers but its config has ${diffIds.length} diff_ids`);
    }
    // Two layers at a time: one unpacks while the other's disk is made (or on the other core).
    await runBounded([...diffIds.entries()], PARALLEL_LAYER_BUILDS, async ([index, diffId]) => {
      if (!this.layers.get(diffId)) progress(`Loading layer ${digestHex(diffId).slice(0, 12)}`);
      // Keep the blob as loaded: pushing the image later sends these bytes.
      await this.layers.ensure(diffId, blobFile(image.layerFiles[index]), {});
    });
    this.storeConfig(id, image.configBytes);
    this.configs.set(id, config);

    const moves = this.references.addImage(id, image.repoTags, image.repoDigests, parent);
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
    const fd = openSync(temporary, 'wx', 0o600);
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
      parent: this.references.parentOf(id),
    };
  }
}

/** The tag or digest reference `reference` names on `image`, or undefined when it is an id. */
function namedReference(reference: string, image: ImageRecord): string | undefined {
  const parsed = tryParseReference(reference);
  if (!parsed) return undefined;
  if (parsed.digest) {
    const named = `${familiarName(parsed)}@${parsed.digest}`;
    return image.repoDigests.includes(named) ? named : undefined;
  }
  const tag = `${familiarName(parsed)}:${parsed.tag ?? DEFAULT_TAG}`;
  return image.repoTags.includes(tag) ? tag : undefined;
}

function tryParseReference(text: string): ReturnType<typeof parseReference> | undefined {
  try {
    return parseReference(text);
  } catch {
    return undefined;
  }
}
