// A container's files and processes from outside (`docker cp`, `docker top`). While the container
// runs, the guest does the work (its tether); while it is stopped, the host does, on the container's
// disks mounted here — read-only for reading, through a read-write overlay for writing — with the
// backend's host file tool, the same code as in the guest.
//
// In the stopped case the container's volumes are shown at their targets too (container-view.ts),
// except a volume another running container has attached: a path that reaches into it is refused
// (409) rather than read from a disk a guest is writing, or from the directory the volume hides.
import { tmpdir } from 'node:os';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, GuestProcessList, PathStat } from '../backend.ts';
import { PortLayerError, conflict, errorKind } from '../errors.ts';
import type { ContainerService, FilesAccess } from './service.ts';
import { withContainerView } from '../images/container-view.ts';
import { hostRead, hostStat, hostWrite } from './host-files.ts';

export interface ContainerFilesOptions {
  containers: ContainerService;
  /** The backend's host file tool; absent: stopped containers' files are out of reach. */
  hostTool?: string;
  /** Where the mounts go; the system's temp directory by default. */
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
      return this.onDisks(access, path, false, (root, tool) => hostStat(tool, root, path));
    });
  }

  /** Hands the stat and the tar to `deliver`; the container's disks stay mounted until it settles. */
  read(ref: string, path: string, deliver: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    return this.withFiles(ref, path, async (access) => {
      if (access.vm) {
        const { stat, tar } = await access.vm.readArchive(path);
        return deliver(stat, tar);
      }
      return this.onDisks(access, path, false, async (root, tool) => {
        const { stat, tar, done } = await hostRead(tool, root, path);
        try {
          await deliver(stat, tar);
        } finally {
          // A client gone early: the tool is stopped (closing its output kills it) before the unmount.
          tar.destroy();
          await done.catch(() => undefined);
        }
        await done;
      });
    });
  }

  write(ref: string, path: string, tar: Readable, options: ArchiveWriteOptions): Promise<void> {
    return this.withFiles(ref, path, async (access) => {
      if (access.vm) return access.vm.writeArchive(path, tar, options);
      return this.onDisks(access, path, true,
        (root, tool) => hostWrite(tool, root, path, tar, { ...options, user: access.record.spec.process.user }));
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

  /** The stopped container's filesystem with its volumes, as its process sees it, for the host file tool. */
  private onDisks<T>(access: StoppedAccess, path: string, writable: boolean, use: (root: string, tool: string) => Promise<T>): Promise<T> {
    const tool = this.tool();
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
    return withContainerView({ layerDisks: access.layerDisks, writableDisk: access.writableDisk, volumes, writable, tmpDir: this.tmpDir() },
      (root) => use(root, tool));
  }

  private tool(): string {
    if (!this.options.hostTool) throw new PortLayerError('NotImplemented', 'this VCH cannot reach the files of a stopped container');
    return this.options.hostTool;
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
