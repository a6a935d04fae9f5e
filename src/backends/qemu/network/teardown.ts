// Removes everything a VCH's networks made on the host — its bridges, taps and NAT rules, found by
// the VCH's name prefix — for when the VCH itself is deleted (its VMs must be gone first).
import { deleteLink, listLinks } from './ip.ts';
import { removeMasquerades } from './nat.ts';
import { vchPrefix } from './names.ts';

export async function removeVchNetworking(vchId: string): Promise<void> {
  const prefix = vchPrefix(vchId);
  // Taps first: a bridge goes more quickly without ports.
  const ours = (await listLinks()).filter((l) => l.name.startsWith(prefix) && l.name.length === prefix.length + 8);
  for (const link of ours.filter((l) => l.name[prefix.length] === 't')) await deleteLink(link.name);
  for (const link of ours.filter((l) => l.name[prefix.length] === 'b')) await deleteLink(link.name);
  await removeMasquerades(`bonneville:${prefix}:`);
}
