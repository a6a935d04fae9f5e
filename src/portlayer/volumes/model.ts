// Volumes as the port layer sees them: a named disk of the backend's disk store, attached to the VM of every
// container that mounts it. Three shapes kept apart, as for containers: what a container asks for
// (MountRequest), what a container keeps (ContainerMount, in its config.json), and the stored volume
// (VolumeRecord, in volumes/<name>/volume.json).

export interface VolumeRecord {
  name: string;
  /** As asked for ("local", or an alias of it); every driver is the same kind of disk here. */
  driver: string;
  created: string;
  labels: Record<string, string>;
  /** The driver options given at create, kept for inspect. */
  options: Record<string, string>;
  /** Made for one container without a name (Docker's anonymous volumes): the ones prune and `rm -v` take. */
  anonymous: boolean;
  /** Apparent size of the disk; it is sparse, so it costs only what is written. */
  sizeBytes: number;
  /** The VCH volume store the disk lives in (vic-machine's --volume-store); absent: `default`. */
  store?: string;
}

/** How a volume is created: by `volume create`, or on first use by a container. */
export interface VolumeCreateRequest {
  /** Empty: a generated name, and the volume is anonymous. */
  name: string;
  driver?: string;
  driverOptions?: Record<string, string>;
  labels?: Record<string, string>;
  anonymous?: boolean;
}

/** A container's wish to have a volume at a path; the volume is created when missing. */
export interface MountRequest {
  /** Empty: a new anonymous volume. */
  volume: string;
  /** Absolute, normalised path inside the container. */
  target: string;
  readOnly: boolean;
  /** Fill an empty volume with what the image has at target, on mount (Docker's default; `nocopy` turns it off). */
  copyUp: boolean;
  /** Opaque to the port layer: the mode string the user gave ("ro", "z" …), for inspect. */
  mode: string;
  /** Used only when the volume has to be created. */
  create?: Omit<VolumeCreateRequest, 'name' | 'anonymous'>;
}

/** A mount as the container keeps it: resolved to a stored volume at create. */
export interface ContainerMount {
  volume: string;
  target: string;
  readOnly: boolean;
  copyUp: boolean;
  mode: string;
  driver: string;
  /** The volume's disk: what inspect shows as the mount's Source. */
  disk: string;
  anonymous: boolean;
}

/** A stored volume with what uses it, as the port layer hands it out. */
export interface VolumeView {
  record: VolumeRecord;
  disk: string;
  /** Containers (in any state) whose config mounts the volume. */
  usedBy: string[];
}

/** What the volume service asks about containers, without knowing the container service. */
export interface VolumeUsage {
  /** Ids of the containers (any state) that mount volume `name`. */
  containersUsing(name: string): string[];
}

/** What the container service needs from the volume service. */
export interface VolumeAttacher {
  /** Resolves each request to a stored volume, creating missing ones; none can be removed until release(). */
  attach(requests: MountRequest[]): Promise<{ mounts: ContainerMount[]; release(): void }>;
  /** The disk of an existing volume (NotFound when it is gone). */
  diskOf(name: string): string;
  /** Removes those of the named anonymous volumes nothing uses any more (`docker rm -v`, `--rm`). */
  removeAnonymousIfUnused(names: string[]): Promise<void>;
}
