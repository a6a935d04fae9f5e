// `docker diff`: what a container changed against its image, read from overlayfs's own account of
// it — the container's `upper/`. An entry there is a deletion when it is a whiteout (a 0:0 character
// device), a modification when some image layer has the same path, an addition otherwise; everything
// under an added directory is added too. Sorted by path, as dockerd lists them.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FilesystemChange } from '../../../portlayer/disks.ts';
import { withContainerFilesystem } from './container-filesystem.ts';
import type { ContainerFilesystemRequest } from './container-filesystem.ts';

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

export function containerChanges(request: ContainerFilesystemRequest): Promise<FilesystemChange[]> {
  return withContainerFilesystem(request, async (fs) => {
    if (!fs.upper) return [];
    return diffUpper(fs.upper, fs.lowers.filter((l) => l !== fs.upper));
  });
}
