// A container's files and processes from outside (`docker cp`, `docker top`). While the container
// runs, the guest does the work (its tether); while it is stopped, the backend's disk store does, on
// the container's disks (DiskStore.files, an optional capability: without it, 501).
//
// In the stopped case the container's volumes and host binds are shown at their targets too,
// except a volume another running container has attached: a path that reaches into it is refused
// (409) rather than read from a disk a guest is writing, or from the directory the volume hides.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, GuestProcessList, PathStat } from '../backend.ts';
import { PortLayerError, conflict, errorKind } from '../errors.ts';
import type { ContainerService, FilesAccess } from './service.ts';
import type { ContainerDisks, StoppedContainerFiles } from '../disks.ts';

export interface ContainerFilesOptions {
  containers: ContainerService;
  /** The disk store's access to stopped containers' files; absent: out of reach (501). */
  stoppedFiles?: StoppedContainerFiles;
  /** Scratch space for the disk store; the system's temp directory by default. */
  tmpDir?: string;
}

type StoppedAccess = Extract<FilesAccess, { vm?: undefined }>;

export class ContainerFiles {
  private readonly options: ContainerFilesOptions;

  constructor(options: ContainerFilesOptions) {
    this.options = options;
  }

  /** The running container's processes; a stopped one has none to show (409, as in Docker). */
  processes(ref: string): Promise<GuestProcessList> {
    const { id, vm } = this.options.containers.runningVm(ref);
    if (this.options.containers.get(ref).state.paused) throw conflict(`Container ${id} is paused, unpause the container first`);
    return vm.processes();
  }

  stat(ref: string, path: string): Promise<PathStat> {
    return this.withFiles(ref, path, (access) => {
      if (access.vm) return access.vm.statPath(path);
      return this.onDisks(access, path, (files, disks) => files.stat(disks, path, this.tmpDir()));
    });
  }

  /** Hands the stat and the tar to `deliver`; the container's disks stay mounted until it settles. */
  read(ref: string, path: string, deliver: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    return this.withFiles(ref, path, async (access) => {
      if (access.vm) {
        const { stat, tar } = await access.vm.readArchive(path);
        return deliver(stat, tar);
      }
      return this.onDisks(access, path, (files, disks) => files.read(disks, path, this.tmpDir(), deliver));
    });
  }

  write(ref: string, path: string, tar: Readable, options: ArchiveWriteOptions): Promise<void> {
    return this.withFiles(ref, path, async (access) => {
      if (access.vm) return access.vm.writeArchive(path, tar, options);
      return this.onDisks(access, path,
        (files, disks) => files.write(disks, path, tar, { ...options, user: access.record.spec.process.user }, this.tmpDir()));
    });
  }

  /** Reaches the files and words NotFound as Docker does. */
  private async withFiles<T>(ref: string, path: string, use: (access: FilesAccess) => Promise<T>): Promise<T> {
    try {
      return await this.options.containers.withFiles(ref, use);
    } catch (err) {
      if (errorKind(err) === 'NotFound' && !/^No such container/.test((err as Error).message)) {
        throw new PortLayerError('NotFound', `Could not find the file ${path} in container ${ref}`, { cause: err });
      }
      throw err;
    }
  }

  /** The stopped container's disks with the volumes it may show, for the disk store's file access. */
  private onDisks<T>(access: StoppedAccess, path: string, use: (files: StoppedContainerFiles, disks: ContainerDisks) => Promise<T>): Promise<T> {
    const files = this.stoppedFiles();
    const volumes = [];
    for (const mount of access.record.mounts ?? []) {
      const holder = access.volumesInUse.get(mount.volume);
      if (holder === undefined) {
        volumes.push({ target: mount.target, disk: mount.disk, readOnly: mount.readOnly });
      } else if (touches(path, mount.target)) {
        // Its disk is attached to a running VM: the host must not open it, and that guest has its own view.
        throw conflict(`${mount.target} is volume "${mount.volume}", which running container "${holder}" has attached: copy through that container (docker cp ${holder}:PATH) or stop it first`);
      }
    }
    // Host binds are shown too, as dockerd's docker cp does; a source not made yet (`-v` makes it at start) has nothing to show.
    const binds = (access.record.binds ?? []).filter((bind) => existsSync(bind.source))
      .map((bind) => ({ target: bind.target, source: bind.source, readOnly: bind.readOnly }));
    return use(files, { layerDisks: access.layerDisks, writableDisk: access.writableDisk, volumes, binds });
  }

  private stoppedFiles(): StoppedContainerFiles {
    if (!this.options.stoppedFiles) throw new PortLayerError('NotImplemented', "this VCH's backend cannot reach the files of a stopped container: start it first");
    return this.options.stoppedFiles;
  }

  private tmpDir(): string {
    return this.options.tmpDir ?? tmpdir();
  }
}

/** Whether copying `path` reaches into a volume mounted at `target` (inside it, or an ancestor of it). */
function touches(path: string, target: string): boolean {
  const wanted = posix.normalize(`/${path}/`);
  const mounted = posix.normalize(`/${target}/`);
  return wanted.startsWith(mounted) || mounted.startsWith(wanted);
}
