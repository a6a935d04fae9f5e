// What goes when a container goes for good: the backend's VM files and its writable disk, each through
// the backend that made them, and only then the container's directory with its record. A crash halfway
// leaves the record (saved as 'removing' first), and the next engine start finishes the job.
import type { Backend } from '../backend.ts';
import type { DiskRef } from '../disks.ts';
import type { ContainerDirectoryStore } from './store.ts';

export async function tearDownContainer(backend: Pick<Backend, 'teardown' | 'disks'>, store: ContainerDirectoryStore, id: string, writableDisk: DiskRef): Promise<void> {
  const dir = store.dirOf(id);
  await backend.teardown(id, dir);
  await backend.disks.destroyDisk(writableDisk);
  store.remove(id);
}
