// Access to a container's files (`docker cp`): through its running VM, or on its disks from the host while
// it is stopped — one host-side user at a time, and no start begins until that user is done. A stopped
// container's volumes are disks other containers may mount too: those containers are held as well (in id
// order, so two holders never wait on each other), and a volume a running one has is named as busy.
import type { VmHandle } from '../backend.ts';
import type { ContainerRecord } from './model.ts';
import { conflict, notFound } from '../errors.ts';
import { isActive, writableDiskOf } from './live-container.ts';
import type { LiveContainer } from './live-container.ts';

/** How to reach a container's files (withFiles): its running VM, or its disks while it is stopped. */
export type FilesAccess =
  | { vm: VmHandle; record: ContainerRecord }
  | {
    vm?: undefined;
    record: ContainerRecord;
    layerDisks: string[];
    writableDisk: string;
    /** Volumes of this container that a running container has attached: volume name -> that container's name. */
    volumesInUse: Map<string, string>;
  };

/**
 * Work on the container's files: through its VM while it runs; else on its disks from the host, one such
 * user at a time, and no start (of it, or of another container sharing a volume) begins until `use` settles.
 * `sharers` lists the other containers that mount one of its volumes; `isLive` tells whether the container
 * is still there once the turn comes; `ref` is what the user called it, for the error.
 */
export async function withFiles<T>(
  entry: LiveContainer,
  ref: string,
  isLive: (id: string) => boolean,
  sharers: () => LiveContainer[],
  use: (access: FilesAccess) => Promise<T>,
): Promise<T> {
  if (entry.starting) await entry.starting.catch(() => undefined);
  if (entry.vm) {
    // A frozen guest cannot answer.
    if (entry.state.paused) throw conflict(`Container ${entry.record.id} is paused, unpause the container before copying files`);
    return use({ vm: entry.vm, record: entry.record });
  }
  const held = [entry, ...sharers().filter((e) => !isActive(e))].sort((a, b) => a.record.id.localeCompare(b.record.id));
  const releases: Array<() => void> = [];
  try {
    for (const each of held) releases.push(await hold(each));
    if (entry.state.status === 'removing' || !isLive(entry.record.id)) throw notFound(`No such container: ${ref}`);
    if (isActive(entry)) throw conflict(`Container ${entry.record.id} started during the copy; try again`);
    return await use({
      record: entry.record,
      layerDisks: entry.record.layerDisks,
      writableDisk: writableDiskOf(entry),
      volumesInUse: volumesInUse(entry, sharers()),
    });
  } finally {
    for (const release of releases.reverse()) release();
  }
}

/** Waits for the container's turn, then holds it until the returned release is called. */
async function hold(entry: LiveContainer): Promise<() => void> {
  const previous = entry.filesBusy;
  let release!: () => void;
  const mine = new Promise<void>((resolve) => { release = resolve; });
  const held = (previous ?? Promise.resolve()).then(() => mine);
  entry.filesBusy = held;
  await previous;
  return () => {
    release();
    if (entry.filesBusy === held) entry.filesBusy = undefined;
  };
}

function volumesInUse(entry: LiveContainer, sharers: LiveContainer[]): Map<string, string> {
  const busy = new Map<string, string>();
  for (const other of sharers) {
    if (!isActive(other)) continue;
    for (const mount of other.record.mounts ?? []) {
      if ((entry.record.mounts ?? []).some((m) => m.volume === mount.volume)) busy.set(mount.volume, other.record.spec.name);
    }
  }
  return busy;
}

/** Resolves once no host-side files user holds the container's disks. */
export async function filesSettled(entry: LiveContainer): Promise<void> {
  while (entry.filesBusy) await entry.filesBusy;
}
