// Volume lifecycle: create (by name, or anonymous), list, inspect, remove, prune, and the attach step a
// container create takes. A volume is in use while any container (running or not) mounts it, or while
// a container create is resolving it (a hold): neither remove nor prune takes it then.
import type { EventLog } from '../events.ts';
import { PortLayerError, conflict, invalid, notFound } from '../errors.ts';
import { VolumeDirectoryStore } from './store.ts';
import type { VolumeDisks } from './store.ts';
import { anonymousVolumeName, sizeFromOptions, validateDriver, validateVolumeName } from './options.ts';
import type { ContainerMount, MountRequest, VolumeAttacher, VolumeCreateRequest, VolumeRecord, VolumeUsage, VolumeView } from './model.ts';

export interface VolumeServiceOptions {
  /** <datastore>/volumes */
  root: string;
  /**
   * Named volume stores: directories volumes live in (`docker volume create --opt VolumeStore=NAME`
   * picks one). `default` is `root` unless named here.
   */
  stores?: Record<string, string>;
  /** The backend's disk store: a volume is one of its disks. */
  disks: VolumeDisks;
  events: EventLog;
}

export class VolumeService implements VolumeAttacher {
  /** By volume store name; every volume lives in one. */
  private readonly stores = new Map<string, VolumeDirectoryStore>();
  private readonly options: VolumeServiceOptions;
  private readonly volumes = new Map<string, VolumeRecord>();
  /** Creates under way, so that a second create of the same name waits for the first. */
  private readonly creating = new Map<string, Promise<VolumeRecord>>();
  /** Removals under way (the disk being destroyed): a create of the same name waits for it. */
  private readonly removing = new Map<string, Promise<void>>();
  /** Volumes a container create is resolving: in use although no container records them yet. */
  private readonly holds = new Map<string, number>();
  private usage: VolumeUsage = { containersUsing: () => [] };

  constructor(options: VolumeServiceOptions) {
    this.options = options;
    const roots = { default: options.root, ...options.stores };
    for (const [name, root] of Object.entries(roots)) this.stores.set(name, new VolumeDirectoryStore(root, options.disks));
  }

  /** The names of the volume stores, `default` first. */
  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  /** The store a volume lives in; a record from before volume stores is in `default`. */
  private storeOf(record: VolumeRecord): VolumeDirectoryStore {
    const store = this.stores.get(record.store ?? 'default');
    if (!store) throw notFound(`volume ${record.name} is in volume store ${record.store}, which this VCH no longer has`);
    return store;
  }

  /** Rebuilds the view from the datastore (interrupted creates and removals are cleaned up). */
  recover(): void {
    for (const [name, store] of this.stores) {
      // A volume store's directory holds only that store's volumes: a record there belongs to it.
      for (const record of store.load()) this.volumes.set(record.name, { ...record, store: name === 'default' ? record.store : name });
    }
  }

  useUsage(usage: VolumeUsage): void {
    this.usage = usage;
  }

  list(): VolumeView[] {
    return [...this.volumes.values()].map((r) => this.view(r));
  }

  get(name: string): VolumeView {
    const record = this.volumes.get(name);
    if (!record) throw notFound(`get ${name}: no such volume`);
    return this.view(record);
  }

  /** Creates a volume; asking again for an existing name with the same driver returns that volume, as Docker does. */
  async create(request: VolumeCreateRequest): Promise<VolumeView> {
    return this.view(await this.ensure(request));
  }

  diskOf(name: string): string {
    const record = this.volumes.get(name);
    if (!record) throw notFound(`volume ${name} no longer exists`);
    return this.storeOf(record).diskOf(name);
  }

  /** Bytes the volume's disk really takes. */
  allocatedBytes(name: string): number {
    const record = this.volumes.get(name);
    return record ? this.storeOf(record).allocatedBytes(name) : 0;
  }

  /** Removes the volume and its disk; settles once the backend has deleted the disk (dockerd's rm is synchronous). */
  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    if (!this.volumes.has(name)) {
      if (options.force) return; // Docker: forcing the removal of a missing volume is no error
      throw notFound(`get ${name}: no such volume`);
    }
    // Even forced: a container's config names the disk, and its VM may be writing it.
    const users = this.users(name);
    if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    await this.removeNow(name);
  }

  /** Removes unused volumes: anonymous ones only unless `all`, and only those `select` accepts. */
  async prune(options: { all?: boolean; select?: (view: VolumeView) => boolean } = {}): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const view of this.list()) {
      if (view.usedBy.length > 0 || this.holds.has(view.record.name)) continue;
      if (!options.all && !view.record.anonymous) continue;
      if (options.select && !options.select(view)) continue;
      const bytes = this.allocatedBytes(view.record.name);
      await this.removeNow(view.record.name);
      reclaimed += bytes;
      deleted.push(view.record.name);
    }
    if (deleted.length > 0) this.options.events.record('volume', 'prune', '', { reclaimed: String(reclaimed) });
    return { deleted, reclaimed };
  }

  async attach(requests: MountRequest[]): Promise<{ mounts: ContainerMount[]; release(): void }> {
    const held: string[] = [];
    const release = () => {
      for (const name of held.splice(0)) {
        const n = (this.holds.get(name) ?? 1) - 1;
        if (n > 0) this.holds.set(name, n);
        else this.holds.delete(name);
      }
    };
    const hold = (name: string) => {
      this.holds.set(name, (this.holds.get(name) ?? 0) + 1);
      held.push(name);
    };
    const mounts: ContainerMount[] = [];
    try {
      for (const request of requests) {
        if (request.volume) {
          validateVolumeName(request.volume);
          hold(request.volume);
        }
        const record = await this.ensure({ name: request.volume, anonymous: !request.volume, ...request.create });
        if (!request.volume) hold(record.name);
        mounts.push({
          volume: record.name,
          target: request.target,
          readOnly: request.readOnly,
          copyUp: request.copyUp,
          mode: request.mode,
          driver: record.driver,
          disk: this.storeOf(record).diskOf(record.name),
          anonymous: record.anonymous,
        });
      }
    } catch (err) {
      release();
      // Anonymous volumes made for this create belong to nothing now.
      this.removeAnonymousIfUnused(mounts.filter((m) => m.anonymous).map((m) => m.volume));
      throw err;
    }
    return { mounts, release };
  }

  async removeAnonymousIfUnused(names: string[]): Promise<void> {
    for (const name of new Set(names)) {
      const record = this.volumes.get(name);
      if (record?.anonymous && this.users(name).length === 0 && !this.holds.has(name)) await this.removeNow(name);
    }
  }

  private users(name: string): string[] {
    const users = this.usage.containersUsing(name);
    return this.holds.has(name) && users.length === 0 ? ['a container being created'] : users;
  }

  private async ensure(request: VolumeCreateRequest): Promise<VolumeRecord> {
    const name = request.name ? validateVolumeName(request.name) : anonymousVolumeName();
    const driver = validateDriver(request.driver);
    // No await unless another create of this name is under way: the check and the claim below must
    // happen in one turn, or two creates of one name would both make a disk.
    const pending = this.creating.get(name) ?? this.removing.get(name);
    if (pending) {
      await pending.catch(() => undefined);
      return this.ensure({ ...request, name });
    }
    const existing = this.volumes.get(name);
    if (existing) {
      if (request.driver && existing.driver !== driver) {
        throw conflict(`create ${name}: a volume with the name ${name} already exists with driver "${existing.driver}"`);
      }
      return existing;
    }
    const options = { ...(request.driverOptions ?? {}) };
    const storeName = this.pickStore(options);
    const record: VolumeRecord = {
      name,
      driver,
      created: new Date().toISOString(),
      labels: { ...(request.labels ?? {}) },
      options,
      anonymous: request.anonymous === true || !request.name,
      sizeBytes: sizeFromOptions(withoutStoreOption(options)),
      store: storeName,
    };
    const making = this.storeOf(record).create(record).then(() => record);
    this.creating.set(name, making);
    try {
      await making;
    } finally {
      this.creating.delete(name);
    }
    this.volumes.set(name, record);
    this.options.events.record('volume', 'create', name, { driver });
    return record;
  }

  /** The store the VolumeStore option names (vic's spelling, any case), `default` without one. */
  private pickStore(options: Record<string, string>): string {
    const key = Object.keys(options).find((k) => k.toLowerCase() === 'volumestore');
    const name = key ? options[key] : 'default';
    if (!this.stores.has(name)) {
      throw invalid(`no volume store named ${name}: this VCH has ${this.storeNames().join(', ')}`);
    }
    return name;
  }

  /**
   * The disk first, then the record: a failed delete changes nothing (the volume stays, with its
   * disk), and a crash between the two leaves a record without a disk, which recover() drops.
   */
  private async removeNow(name: string): Promise<void> {
    const record = this.volumes.get(name);
    if (!record) return;
    const store = this.storeOf(record);
    const disk = store.diskOf(name);
    // Out of the map while the disk goes: no new user takes it, a create of the name waits.
    this.volumes.delete(name);
    const removal = this.options.disks.destroyDisk(disk);
    this.removing.set(name, removal);
    try {
      await removal;
    } catch (err) {
      this.volumes.set(name, record);
      throw new PortLayerError('System', `remove ${name}: its disk could not be deleted: ${(err as Error).message}`);
    } finally {
      this.removing.delete(name);
    }
    store.remove(name);
    this.options.events.record('volume', 'destroy', name, { driver: record.driver });
  }

  private view(record: VolumeRecord): VolumeView {
    return { record, disk: this.storeOf(record).diskOf(record.name), usedBy: this.usage.containersUsing(record.name) };
  }
}

function withoutStoreOption(options: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(options).filter(([k]) => k.toLowerCase() !== 'volumestore'));
}
