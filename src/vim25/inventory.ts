// Finding things: SearchIndex (inventory paths, child by name) and Folder (create, list children).
import type { VimClient } from './session.ts';
import { toRef } from './xml.ts';
import { NotFoundFault } from './faults.ts';
import { retrieveOne } from './property-collector.ts';
import { ManagedObjectReference } from './types.ts';

/** `SearchIndex.FindByInventoryPath`, e.g. `DC0/host/DC0_C0/Resources`; undefined when nothing is there. */
export async function findByInventoryPath(client: VimClient, inventoryPath: string): Promise<ManagedObjectReference | undefined> {
  const ret = await client.invoke('FindByInventoryPath', client.content.searchIndex, { inventoryPath });
  return ret ? toRef(ret) : undefined;
}

/** Like findByInventoryPath, but a missing object is a NotFoundFault naming the path. */
export async function mustFind(client: VimClient, inventoryPath: string, type?: string): Promise<ManagedObjectReference> {
  const ref = await findByInventoryPath(client, inventoryPath);
  if (!ref) throw new NotFoundFault('NotFound', `nothing at inventory path ${inventoryPath}`);
  if (type && ref.type !== type) throw new NotFoundFault('NotFound', `${inventoryPath} is a ${ref.type}, not a ${type}`);
  return ref;
}

/** `SearchIndex.FindChild`: a direct child of a folder/datacenter/pool by name. */
export async function findChild(client: VimClient, entity: ManagedObjectReference, name: string): Promise<ManagedObjectReference | undefined> {
  const ret = await client.invoke('FindChild', client.content.searchIndex, { entity, name });
  return ret ? toRef(ret) : undefined;
}

export function createFolder(client: VimClient, parent: ManagedObjectReference, name: string): Promise<ManagedObjectReference> {
  return client.invokeRef('CreateFolder', parent, { name });
}

export async function folderChildren(client: VimClient, folder: ManagedObjectReference): Promise<ManagedObjectReference[]> {
  const props = await retrieveOne(client, folder, ['childEntity']);
  const v = props.childEntity;
  return (Array.isArray(v) ? v : v ? [v] : []).filter((x): x is ManagedObjectReference => x instanceof ManagedObjectReference);
}

/** The name of a managed entity. */
export async function entityName(client: VimClient, ref: ManagedObjectReference): Promise<string> {
  const props = await retrieveOne(client, ref, ['name']);
  return String(props.name ?? '');
}

/** The datacenter's folders (vmFolder, hostFolder, datastoreFolder, networkFolder). */
export async function datacenterFolders(client: VimClient, datacenter: ManagedObjectReference): Promise<Record<'vmFolder' | 'hostFolder' | 'datastoreFolder' | 'networkFolder', ManagedObjectReference>> {
  const props = await retrieveOne(client, datacenter, ['vmFolder', 'hostFolder', 'datastoreFolder', 'networkFolder']);
  return props as Record<'vmFolder' | 'hostFolder' | 'datastoreFolder' | 'networkFolder', ManagedObjectReference>;
}
