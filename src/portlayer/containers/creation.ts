// `docker create`: the image resolved, the name checked, the volumes attached, the writable disk made,
// then the record saved — undone as a whole if any step fails.
import { randomBytes } from 'node:crypto';
import type { ImageStore } from '../images/types.ts';
import { invalid, notFound } from '../errors.ts';
import { generateName, validateName } from './names.ts';
import { initialState } from './model.ts';
import type { ContainerRecord, ContainerSpec, ContainerView } from './model.ts';
import { liveContainer, view } from './live-container.ts';
import type { LiveContainer } from './live-container.ts';
import type { HostContext } from './context.ts';
import { tearDownContainer } from './teardown.ts';
import { checkVmMemory, shapeOf } from './vm-boot.ts';
import type { VmShape } from './vm-boot.ts';

const WRITABLE_DISK_BYTES = 8 * 1024 ** 3;

export interface CreationDeps extends HostContext {
  images: ImageStore;
  vmDefaults: VmShape;
}

export async function createContainer(spec: ContainerSpec, deps: CreationDeps): Promise<ContainerView> {
  const { live, store, networking } = deps;
  const image = deps.images.resolve(spec.imageReference);
  if (!image) throw notFound(`No such image: ${spec.imageReference}`);
  const name = spec.name ? validateName(spec.name) : generateName((n) => live.byName(n) !== undefined);
  live.refuseTakenName(name);
  if (spec.process.argv.length === 0) throw invalid('no command specified');
  checkVmMemory(shapeOf(spec, deps.vmDefaults), deps.backend.capabilities);
  const id = randomBytes(32).toString('hex');
  // Volumes first (they may be created now); held until the record naming them is saved.
  const attached = await deps.volumes.attach(spec, deps.backend.capabilities.hostDirectories === true);
  const record: ContainerRecord = {
    id,
    created: new Date().toISOString(),
    imageId: image.id,
    layerDisks: image.layers.map((l) => l.disk),
    ...(attached.mounts.length > 0 ? { mounts: attached.mounts } : {}),
    ...(attached.binds.length > 0 ? { binds: attached.binds } : {}),
    spec: { ...spec, name, hostname: spec.hostname || id.slice(0, 12) },
  };
  let dir: string | undefined;
  let entry: LiveContainer;
  try {
    live.refuseTakenName(name);
    dir = store.createDir(id);
    entry = liveContainer(record, initialState(), dir, await deps.backend.disks.createContainerDisk(dir, WRITABLE_DISK_BYTES));
    store.saveState(id, entry.state);
    store.saveRecord(record);
    // After the record, and visible: the networks' endpoints name a container that exists, and
    // peers' /etc/hosts list it by name (recovery drops endpoints of containers that do not).
    if (networking) {
      live.add(entry);
      await networking.created(record);
    }
  } catch (err) {
    live.delete(id);
    if (dir) await tearDownContainer(deps.backend, store, id, deps.backend.disks.containerDisk(dir));
    attached.release();
    await deps.volumes.removeAnonymous(attached.mounts).catch(() => undefined);
    throw err;
  }
  attached.release();
  live.add(entry);
  deps.announce(entry, 'create');
  return view(entry);
}
