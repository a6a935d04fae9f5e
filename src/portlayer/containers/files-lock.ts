// Access to a container's files (`docker cp`): through its running VM, or on its disks from the host while
// it is stopped — one host-side user at a time, and no start begins until that user is done.
import type { VmHandle } from '../backend.ts';
import type { ContainerRecord } from './model.ts';
import { conflict, notFound } from '../errors.ts';
import { writableDiskOf } from './live-container.ts';
import type { LiveContainer } from './live-container.ts';

/** How to reach a container's files (withFiles): its running VM, or its disks while it is stopped. */
export type FilesAccess =
  | { vm: VmHandle; record: ContainerRecord }
  | { vm?: undefined; record: ContainerRecord; layerDisks: string[]; writableDisk: string };

/**
 * Work on the container's files: through its VM while it runs; else on its disks from the host, one such
 * user at a time, and no start begins until `use` settles (it waits). `isLive` tells whether the container
 * is still there once the turn comes; `ref` is what the user called it, for the error.
 */
export async function withFiles<T>(entry: LiveContainer, ref: string, isLive: (id: string) => boolean, use: (access: FilesAccess) => Promise<T>): Promise<T> {
  if (entry.starting) await entry.starting.catch(() => undefined);
  if (entry.vm) {
    // A frozen guest cannot answer.
    if (entry.state.paused) throw conflict(`Container ${entry.record.id} is paused, unpause the container before copying files`);
    return use({ vm: entry.vm, record: entry.record });
  }
  const previous = entry.filesBusy;
  let release!: () => void;
  const mine = new Promise<void>((resolve) => { release = resolve; });
  const held = (previous ?? Promise.resolve()).then(() => mine);
  entry.filesBusy = held;
  try {
    await previous;
    if (entry.state.status === 'removing' || !isLive(entry.record.id)) throw notFound(`No such container: ${ref}`);
    return await use({ record: entry.record, layerDisks: entry.record.layerDisks, writableDisk: writableDiskOf(entry) });
  } finally {
    release();
    if (entry.filesBusy === held) entry.filesBusy = undefined;
  }
}

/** Resolves once no host-side files user holds the container's disks. */
export async function filesSettled(entry: LiveContainer): Promise<void> {
  while (entry.filesBusy) await entry.filesBusy;
}
