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

/** What a flag naming a port group gets when there is none of that name (`what`: the flag). */
export function noSuchPortgroup(what: string, name: string, where: string): Error {
  return new Error(`${what} ${name}: no distributed port group of that name in ${where}`);
}

/** An existing DV port group by name, on any switch under `root` (`where` names root in the error). */
export async function portgroupNamed(client: VimClient, root: ManagedObjectReference, name: string, what: string, where: string): Promise<Portgroup> {
  const pg = (await listPortgroups(client, root)).find((p) => p.name === name);
  if (!pg) throw noSuchPortgroup(what, name, where);
  return pg;
}

export async function destroyPortgroup(client: VimClient, portgroup: ManagedObjectReference): Promise<void> {
  await runTask(client, 'Destroy_Task', portgroup);
}
