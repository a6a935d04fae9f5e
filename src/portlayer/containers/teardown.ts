// What goes when a container goes for good: the backend's VM files and its writable disk, each through
// the backend that made them, and only then the container's directory with its record. A crash halfway
// leaves the record (saved as 'removing' first), and the next engine start finishes the job.
import type { Backend } from '../backend.ts';
import type { DiskRef } from '../disks.ts';
import type { ContainerDirectoryStore } from './store.ts';

/** `mark` is told each step done ('vm-files', 'disk', 'record'), for the exit's phase log. */
export async function tearDownContainer(backend: Pick<Backend, 'teardown' | 'disks'>, store: ContainerDirectoryStore, id: string, writableDisk: DiskRef, mark: (step: string) => void = () => {}): Promise<void> {
  const dir = store.dirOf(id);
  await backend.teardown(id, dir);
  mark('vm-files');
  await backend.disks.destroyDisk(writableDisk);
  mark('disk');
  store.remove(id);
  mark('record');
}
