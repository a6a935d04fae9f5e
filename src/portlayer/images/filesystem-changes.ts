// `docker diff`'s policy on what the disk store reports as changed (DiskStore.files.changes): the files
// the tether itself writes at every start are not the container's changes, as with dockerd.
import type { FilesystemChange } from '../disks.ts';

export type { FilesystemChange };

/** Files the tether writes at every start (dockerd's bind-mounted copies): not the container's changes. */
const IDENTITY_FILES = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
/** Mount points the tether makes when the image lacks them (dockerd's init layer). */
const RUNTIME_DIRS = new Set(['/dev', '/proc', '/sys']);

/**
 * Leaves out the identity files and runtime mount points, and /etc when the identity files were its
 * only change (overlay copies a directory up for any change inside it).
 */
export function withoutRuntimeFiles(changes: FilesystemChange[]): FilesystemChange[] {
  const kept = changes.filter((c) => !IDENTITY_FILES.has(c.path));
  const hasChangesBelow = (dir: string) => kept.some((c) => c.path.startsWith(`${dir}/`));
  return kept.filter((c) => !(c.path === '/etc' && c.kind === 'modified' && !hasChangesBelow('/etc'))
    && !(RUNTIME_DIRS.has(c.path) && c.kind === 'added' && !hasChangesBelow(c.path)));
}

