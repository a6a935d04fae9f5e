// `docker diff`: what a container changed against its image, read from overlayfs's own account of
// it — the container's `upper/`. An entry there is a deletion when it is a whiteout (a 0:0 character
// device), a modification when some image layer has the same path, an addition otherwise; everything
// under an added directory is added too. Sorted by path, as dockerd lists them.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { withContainerFilesystem } from './container-filesystem.ts';
import type { ContainerFilesystemRequest } from './container-filesystem.ts';

export type ChangeKind = 'modified' | 'added' | 'deleted';

export interface FilesystemChange {
  /** Absolute path in the container. */
  path: string;
  kind: ChangeKind;
}

/** The changes of an upper directory against layer roots (topmost first). */
export function diffUpper(upper: string, layers: string[]): FilesystemChange[] {
  const changes: FilesystemChange[] = [];
  const inLayers = (rel: string) => layers.some((root) => {
    try {
      lstatSync(join(root, rel));
      return true;
    } catch {
      return false;
    }
  });
  const walk = (rel: string, underAdded: boolean) => {
    for (const name of readdirSync(join(upper, rel))) {
      const child = `${rel}/${name}`;
      const stat = lstatSync(join(upper, child));
      if (stat.isCharacterDevice() && stat.rdev === 0) {
        changes.push({ path: child, kind: 'deleted' });
        continue;
      }
      const added = underAdded || !inLayers(child);
      changes.push({ path: child, kind: added ? 'added' : 'modified' });
      if (stat.isDirectory()) walk(child, added);
    }
  };
  walk('', false);
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

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

export function containerChanges(request: ContainerFilesystemRequest): Promise<FilesystemChange[]> {
  return withContainerFilesystem(request, async (fs) => {
    if (!fs.upper) return [];
    return withoutRuntimeFiles(diffUpper(fs.upper, fs.lowers.filter((l) => l !== fs.upper)));
  });
}
