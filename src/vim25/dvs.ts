// Distributed virtual switches and their port groups: one port group per bridge network.
import type { VimClient } from './session.ts';
import { runTask } from './tasks.ts';
import { retrieveContained, retrieveOne } from './property-collector.ts';
import type { ManagedObjectReference } from './types.ts';

export interface Portgroup {
  ref: ManagedObjectReference;
  name: string;
  key: string;
  switchUuid: string;
}

/** The switch's uuid (a NIC's DV port backing names switch and port group key). */
export async function switchUuid(client: VimClient, dvs: ManagedObjectReference): Promise<string> {
  return String((await retrieveOne(client, dvs, ['uuid'])).uuid ?? '');
}

export async function addPortgroup(client: VimClient, dvs: ManagedObjectReference, name: string, numPorts = 128): Promise<void> {
  await runTask(client, 'AddDVPortgroup_Task', dvs, { spec: [{ name, numPorts, type: 'earlyBinding' }] });
}

/** Every DV port group under `root` (a datacenter or network folder), with its switch's uuid. */
export async function listPortgroups(client: VimClient, root: ManagedObjectReference): Promise<Portgroup[]> {
  const got = await retrieveContained(client, root, 'DistributedVirtualPortgroup', ['name', 'key', 'config.distributedVirtualSwitch']);
  const uuids = new Map<string, string>();
  const out: Portgroup[] = [];
  for (const g of got) {
    const dvs = g.props['config.distributedVirtualSwitch'] as ManagedObjectReference | undefined;
    let uuid = '';
    if (dvs) {
      if (!uuids.has(dvs.value)) uuids.set(dvs.value, await switchUuid(client, dvs));
      uuid = uuids.get(dvs.value)!;
    }
    out.push({ ref: g.obj, name: String(g.props.name ?? ''), key: String(g.props.key ?? ''), switchUuid: uuid });
  }
  return out;
}

export async function destroyPortgroup(client: VimClient, portgroup: ManagedObjectReference): Promise<void> {
  await runTask(client, 'Destroy_Task', portgroup);
}
