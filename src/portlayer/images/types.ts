// The port layer's image model: backend-free. Layers are stored once per datastore as read-only disks
// (one per OCI diff_id, made by the backend's disk store), shared by every image that lists them.

import type { DiskRef, FilesystemChange, FilesystemDisks } from '../disks.ts';

/** The OCI image config's `config` object (Docker's ContainerConfig subset images carry). */
export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: unknown;
  Shell?: string[];
  /** ONBUILD triggers: instructions a build that starts FROM this image runs first. */
  OnBuild?: string[];
}

/** The OCI image configuration document, as stored (its sha256 is the image id). */
export interface ImageConfigDocument {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean; author?: string }>;
}

export interface LayerRecord {
  /** sha256 of the uncompressed layer tar ("sha256:…") — the OCI diff_id. */
  diffId: string;
  /** The read-only disk holding this layer's files (whiteouts as overlay whiteouts), as the disk store names it. */
  disk: DiskRef;
  /** Bytes of file content in the layer (what Docker reports as the layer's size). */
  size: number;
}

export interface ImageRecord {
  /** "sha256:<hex of the config document>". */
  id: string;
  repoTags: string[];      // "busybox:latest", "registry:5000/app:1"
  repoDigests: string[];   // "busybox@sha256:…" (manifest digests, when known)
  config: ImageConfigDocument;
  /** Layers bottom first, in rootfs.diff_ids order. */
  layers: LayerRecord[];
  /** Sum of layer sizes. */
  size: number;
  /** When this image was first stored here (ISO 8601). */
  stored: string;
  /** The local image this one was committed on (Docker's `Parent`); absent for pulled and loaded ones. */
  parent?: string;
}

export interface LoadProgress {
  (message: string): void;
}

/** What the engine and container port layer need from the image store. */
export interface ImageStore {
  /** Loads a docker-save or OCI-layout tarball (plain, or gzip-compressed). Returns the references loaded ("name:tag", or the image id for untagged images). */
  load(tarball: NodeJS.ReadableStream, progress?: LoadProgress): Promise<string[]>;
  list(): ImageRecord[];
  /** Resolves "name", "name:tag", "host:port/name:tag", "name@sha256:…", a full or short id ("sha256:abc…", "abc123"). Undefined when unknown. */
  resolve(reference: string): ImageRecord | undefined;
  /** Adds a tag ("name:tag") to an image. */
  tag(id: string, reference: string): void;
}

/** What the image store asks about containers, without knowing the container service. */
export interface ImageUsage {
  /** Layer disks some container (in any state) was created with. */
  layerDisksInUse(): Set<string>;
  /** Containers created from image `id`. */
  containersUsing(id: string): Array<{ id: string; running: boolean }>;
}

/** One line of `docker rmi` / `docker image prune` output. */
export interface DeleteRecord {
  Untagged?: string;
  Deleted?: string;
}

/** The whole image store as the engine's image routes use it. */
export interface ManagedImageStore extends ImageStore {
  useUsage(usage: ImageUsage): void;
  pull(request: import('./pull.ts').PullRequest): Promise<import('./pull.ts').PullResult>;
  push(request: import('./push.ts').PushRequest): Promise<void>;
  importRootfs(request: import('./import.ts').ImportRequest): Promise<string>;
  commit(request: Omit<import('./commit.ts').CommitRequest, 'parent'> & { parentId: string }): Promise<string>;
  /** A build step's image: on `parentId`'s layers (none: scratch), an optional new layer tar, a new config. Returns its id. */
  addChild(request: import('./child-image.ts').ChildImageRequest): Promise<string>;
  /** `docker export`: the container's merged filesystem as a tarball. */
  exportFilesystem(filesystem: FilesystemDisks, out: NodeJS.WritableStream): Promise<void>;
  /** `docker diff`: the container's changes against its image. */
  changes(filesystem: FilesystemDisks): Promise<FilesystemChange[]>;
  save(references: string[], out: NodeJS.WritableStream): Promise<void>;
  remove(reference: string, options?: { force?: boolean }): Promise<DeleteRecord[]>;
  prune(options?: { all?: boolean; keep?: (image: ImageRecord) => boolean }): Promise<{ deleted: DeleteRecord[]; reclaimed: number }>;
  layersBytes(): number;
  configBytes(id: string): Buffer;
}
