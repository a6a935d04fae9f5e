// Host interface names of one VCH's networks. Linux allows 15 characters; every name starts with the
// VCH's prefix, so one VCH never touches another's interfaces and a teardown can find all of its own.
//   bridge: bv<vch:5>b<network:7>      tap: bv<vch:5>t<container:6><nic:1>

/** "bv" + the first 5 hex digits of the VCH's id. */
export function vchPrefix(vchId: string): string {
  const hex = vchId.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{5}/.test(hex)) throw new RangeError(`VCH id ${vchId} does not start with 5 hex digits`);
  return `bv${hex.slice(0, 5)}`;
}

export function bridgeName(prefix: string, networkId: string): string {
  return `${prefix}b${networkId.slice(0, 7)}`;
}

export function tapName(prefix: string, containerId: string, index: number): string {
  if (index < 0 || index >= 36) throw new RangeError(`NIC index ${index} out of range`);
  return `${prefix}t${containerId.slice(0, 6)}${index.toString(36)}`;
}

export function isBridgeOf(prefix: string, name: string): boolean {
  return name.length === prefix.length + 8 && name.startsWith(`${prefix}b`);
}

export function isTapOf(prefix: string, name: string): boolean {
  return name.length === prefix.length + 8 && name.startsWith(`${prefix}t`);
}
