// IPv4 address arithmetic and the address plan of networks: which subnet a new network gets (one
// the host does not route yet and no other network of ours has), and which address a new endpoint
// gets (the lowest free one).

export interface Subnet {
  /** Network address as a 32-bit number. */
  base: number;
  prefix: number;
}

export function ipToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new RangeError(`invalid IPv4 address ${ip}`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseSubnet(cidr: string): Subnet {
  const [ip, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new RangeError(`invalid IPv4 subnet ${cidr} (prefix 8-30)`);
  const size = 2 ** (32 - prefix);
  return { base: ipToNumber(ip) - (ipToNumber(ip) % size), prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${numberToIp(s.base)}/${s.prefix}`;
}

function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

export function contains(s: Subnet, ip: string): boolean {
  const n = ipToNumber(ip);
  return n >= s.base && n < s.base + size(s);
}

/** Usable host addresses: not the network address, not the broadcast address. */
export function isHostAddress(s: Subnet, ip: string): boolean {
  const n = ipToNumber(ip);
  return n > s.base && n < s.base + size(s) - 1;
}

export function firstHost(s: Subnet): string {
  return numberToIp(s.base + 1);
}

/** Whether `inner` lies wholly inside `outer`. */
export function within(outer: Subnet, inner: Subnet): boolean {
  return inner.base >= outer.base && inner.base + size(inner) <= outer.base + size(outer);
}

/** Addresses from first to last (32-bit numbers), both included: a network's IP range. */
export interface AddressRange {
  first: number;
  last: number;
}

const ADDRESS_SPAN = /^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$/;

/**
 * A network's IP range as written: a CIDR (Docker's IPRange), or FIRST-LAST (vic-machine's
 * --container-network-ip-range also takes that form: 10.1.1.10-10.1.1.20). Throws RangeError.
 */
export function parseRange(text: string): AddressRange {
  const span = ADDRESS_SPAN.exec(text);
  if (span) {
    const range = { first: ipToNumber(span[1]), last: ipToNumber(span[2]) };
    if (range.first > range.last) throw new RangeError(`invalid IPv4 range ${text} (the first address is after the last)`);
    return range;
  }
  const s = parseSubnet(text);
  return { first: s.base, last: s.base + size(s) - 1 };
}

/** Whether the range lies wholly inside the subnet. */
export function rangeWithin(outer: Subnet, range: AddressRange): boolean {
  return range.first >= outer.base && range.last < outer.base + size(outer);
}

/**
 * The lowest host address of the subnet not in `taken` — inside `range` when the network has one
 * (IPAM's IPRange: dynamic addresses come from there, static ones from the whole subnet); undefined when full.
 */
export function nextFree(s: Subnet, taken: Set<string>, range?: AddressRange): string | undefined {
  const first = Math.max(s.base + 1, range?.first ?? 0);
  const end = Math.min(s.base + size(s) - 1, range ? range.last + 1 : Infinity);
  for (let n = first; n < end; n++) {
    const ip = numberToIp(n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}

/**
 * Candidates in Docker's order of preference: 172.17-31.0.0/16 (172.17 being the default bridge's
 * usual one), then /24s of 10.89.0.0/16 — private ranges, taken only where nothing on the host is.
 */
export function* candidateSubnets(pool?: Subnet): Generator<Subnet> {
  if (pool) {
    yield* poolSubnets(pool);
    return;
  }
  for (let second = 17; second <= 31; second++) yield { base: ipToNumber(`172.${second}.0.0`), prefix: 16 };
  for (let third = 0; third <= 255; third++) yield { base: ipToNumber(`10.89.${third}.0`), prefix: 24 };
}

/**
 * A VCH's bridge network range (vic-machine's --bridge-network-range): /16s out of a range wider than
 * a /16, /24s out of a /16 to /24, the range itself when narrower.
 */
function* poolSubnets(pool: Subnet): Generator<Subnet> {
  const prefix = pool.prefix < 16 ? 16 : Math.max(24, pool.prefix);
  const step = 2 ** (32 - prefix);
  for (let base = pool.base; base < pool.base + size(pool); base += step) yield { base, prefix };
}

export function pickSubnet(inUse: Subnet[], pool?: Subnet): Subnet | undefined {
  for (const candidate of candidateSubnets(pool)) {
    if (!inUse.some((u) => overlaps(u, candidate))) return candidate;
  }
  return undefined;
}

/** Docker's MAC scheme: 02:42 and the four bytes of the IPv4 address — unique wherever the address is. */
export function macFor(ip: string): string {
  const n = ipToNumber(ip);
  return ['02', '42', n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
    .map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0'))).join(':');
}
