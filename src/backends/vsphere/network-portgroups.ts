// A bridge network of a VCH is a distributed port group on the target's switch, named
// `<vch>-<network id prefix>` so a VCH's port groups are recognisable and never collide with
// another VCH's. Container NICs join it by the port group's key.
import type { VimClient } from '../../vim25/session.ts';
import { addPortgroup, destroyPortgroup, listPortgroups, type Portgroup } from '../../vim25/dvs.ts';
import { DuplicateNameFault } from '../../vim25/faults.ts';
import type { Target } from './target.ts';

const NETWORK_ID = /^[0-9a-f]{12,64}$/;

export function portgroupName(vch: string, networkId: string): string {
  if (!NETWORK_ID.test(networkId)) throw new Error(`invalid network id ${JSON.stringify(networkId)}`);
  return `${vch}-${networkId.slice(0, 12)}`;
}

async function find(client: VimClient, target: Target, name: string): Promise<Portgroup | undefined> {
  return (await listPortgroups(client, target.datacenter)).find((p) => p.name === name && p.switchUuid === target.dvsUuid);
}

/** The network's port group, made if missing (a concurrent maker's DuplicateName is taken as found). */
export async function ensureNetworkPortgroup(client: VimClient, target: Target, vch: string, networkId: string): Promise<Portgroup> {
  const name = portgroupName(vch, networkId);
  const existing = await find(client, target, name);
  if (existing) return existing;
  try {
    await addPortgroup(client, target.dvs, name);
  } catch (err) {
    if (!(err instanceof DuplicateNameFault)) throw err;
  }
  const made = await find(client, target, name);
  if (!made) throw new Error(`port group ${name} not found after creating it`);
  return made;
}

/** Removes the network's port group if present. */
export async function removeNetworkPortgroup(client: VimClient, target: Target, vch: string, networkId: string): Promise<void> {
  const pg = await find(client, target, portgroupName(vch, networkId));
  if (pg) await destroyPortgroup(client, pg.ref);
}

/** This VCH's port groups (at engine start: compare with the networks it knows, remove strays). */
export async function listNetworkPortgroups(client: VimClient, target: Target, vch: string): Promise<Portgroup[]> {
  const prefix = `${vch}-`;
  return (await listPortgroups(client, target.datacenter)).filter((p) => p.switchUuid === target.dvsUuid && p.name.startsWith(prefix) && /^[0-9a-f]{12}$/.test(p.name.slice(prefix.length)));
}
