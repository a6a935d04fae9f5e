// A container's files and processes from outside (`docker cp`, `docker top`). While the container
// runs, the guest does the work (its tether); while it is stopped, the host does, on the container's
// disks mounted here — read-only for reading, through a read-write overlay for writing — with the
// backend's host file tool, the same code as in the guest.
//
// Limits of the stopped case: volumes are not mounted, so paths inside a volume's target are refused
// rather than silently read from (or written into) the directory the volume hides.
import { tmpdir } from 'node:os';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, GuestProcessList, PathStat } from '../backend.ts';
import { PortLayerError, conflict, errorKind } from '../errors.ts';
import type { ContainerService, FilesAccess } from './service.ts';
import { withContainerFilesystem } from '../images/container-filesystem.ts';
import { withWritableRootfs } from '../images/writable-rootfs.ts';
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
      return this.readOnly(access, (root, tool) => hostStat(tool, root, path));
    });
  }

  /** Hands the stat and the tar to `deliver`; the container's disks stay mounted until it settles. */
  read(ref: string, path: string, deliver: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    return this.withFiles(ref, path, async (access) => {
      if (access.vm) {
        const { stat, tar } = await access.vm.readArchive(path);
        return deliver(stat, tar);
      }
      return this.readOnly(access, async (root, tool) => {
        const { stat, tar, done } = await hostRead(tool, root, path);
        await deliver(stat, tar);
        await done;
      });
    });
  }

  write(ref: string, path: string, tar: Readable, options: ArchiveWriteOptions): Promise<void> {
    return this.withFiles(ref, path, async (access) => {
      if (access.vm) return access.vm.writeArchive(path, tar, options);
      const tool = this.tool();
      return withWritableRootfs({ layerDisks: access.layerDisks, writableDisk: access.writableDisk, tmpDir: this.tmpDir() },
        (root) => hostWrite(tool, root, path, tar, { ...options, user: access.record.spec.process.user }));
    });
  }

  /** Reaches the files, refusing volume paths of a stopped container, and words NotFound as Docker does. */
  private async withFiles<T>(ref: string, path: string, use: (access: FilesAccess) => Promise<T>): Promise<T> {
    try {
      return await this.options.containers.withFiles(ref, (access) => {
        if (!access.vm) refuseVolumePath(access, path);
        return use(access);
      });
    } catch (err) {
      if (errorKind(err) === 'NotFound' && !/^No such container/.test((err as Error).message)) {
        throw new PortLayerError('NotFound', `Could not find the file ${path} in container ${ref}`, { cause: err });
      }
      throw err;
    }
  }

  private readOnly<T>(access: StoppedAccess, use: (root: string, tool: string) => Promise<T>): Promise<T> {
    const tool = this.tool();
    return withContainerFilesystem({ layerDisks: access.layerDisks, writableDisk: access.writableDisk, active: false, tmpDir: this.tmpDir() },
      async (fs) => use(await fs.merge(), tool));
  }

  private tool(): string {
    if (!this.options.hostTool) throw new PortLayerError('NotImplemented', 'this VCH cannot reach the files of a stopped container');
    return this.options.hostTool;
  }

  private tmpDir(): string {
    return this.options.tmpDir ?? tmpdir();
  }
}

function refuseVolumePath(access: StoppedAccess, path: string): void {
  const wanted = posix.normalize(`/${path}/`);
  for (const mount of access.record.mounts ?? []) {
    const target = posix.normalize(`/${mount.target}/`);
    if (wanted.startsWith(target)) {
      throw new PortLayerError('NotImplemented', `${mount.target} is a volume: its files can be copied only while the container runs`);
    }
  }
}
