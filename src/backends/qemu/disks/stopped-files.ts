// A stopped container's files from the host (DiskStore.files), on its ext4 disks: the layers loop-mounted
// read-only, what a guest wrote only through fuse2fs (guest-disk.ts), the host file tool chrooted into
// the view for `docker cp` (host-files.ts), overlayfs for the merged view of export, and the container's
// `upper/` read for diff and commit.
import type { Readable, Writable } from 'node:stream';
import type { ArchiveWriteOptions, PathStat } from '../../../portlayer/backend.ts';
import type { ContainerDisks, FilesystemChange, FilesystemDisks, StoppedContainerFiles } from '../../../portlayer/disks.ts';
import { withContainerView } from './container-view.ts';
import { withContainerFilesystem } from './container-filesystem.ts';
import { exportMergedRootfs } from './merged-rootfs.ts';
import { containerChanges } from './upper-changes.ts';
import { writeChangesLayer } from './container-changes.ts';
import { hostRead, hostStat, hostWrite } from './host-files.ts';

export class Ext4StoppedFiles implements StoppedContainerFiles {
  private readonly tool: string;

  constructor(hostFileTool: string) {
    this.tool = hostFileTool;
  }

  stat(disks: ContainerDisks, path: string, tmpDir: string): Promise<PathStat> {
    return withContainerView({ ...disks, writable: false, tmpDir }, (root) => hostStat(this.tool, root, path));
  }

  read(disks: ContainerDisks, path: string, tmpDir: string, deliver: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    return withContainerView({ ...disks, writable: false, tmpDir }, async (root) => {
      const { stat, tar, done } = await hostRead(this.tool, root, path);
      try {
        await deliver(stat, tar);
      } finally {
        // A client gone early: the tool is stopped (closing its output kills it) before the unmount.
        tar.destroy();
        await done.catch(() => undefined);
      }
      await done;
    });
  }

  write(disks: ContainerDisks, path: string, tar: Readable, options: ArchiveWriteOptions & { user: string }, tmpDir: string): Promise<void> {
    return withContainerView({ ...disks, writable: true, tmpDir }, (root) => hostWrite(this.tool, root, path, tar, options));
  }

  exportFilesystem(fs: FilesystemDisks, out: Writable, tmpDir: string): Promise<void> {
    return exportMergedRootfs({ ...fs, tmpDir }, out);
  }

  changes(fs: FilesystemDisks, tmpDir: string): Promise<FilesystemChange[]> {
    return containerChanges({ ...fs, tmpDir });
  }

  writeChangesLayer(fs: FilesystemDisks, out: string, tmpDir: string): Promise<void> {
    return withContainerFilesystem({ ...fs, tmpDir }, (mounted) => writeChangesLayer(mounted.upper, out, mounted.scratch));
  }
}
