// Validation of a VCH's settings against the host and the other VCHs, done before anything is made.
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { formatSubnet, overlaps, parseSubnet } from '../portlayer/networks/ipam.ts';
import { parseUpstream } from '../portlayer/networks/dns-resolver.ts';
import type { VchSettings } from './settings.ts';

export function dnsServers(list: string[]): string[] {
  for (const d of list) {
    try { parseUpstream(d); } catch (err) { throw new Error(`--dns-server: ${(err as Error).message}`); }
  }
  return list;
}

export function positive(text: string | undefined, flag: string, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`${flag} wants a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  return n;
}

/** A limit as configure changes it: absent keeps `now`, "0" lifts it, anything else must be positive. */
export function changedLimit(text: string | undefined, flag: string, integer: boolean, now: number | undefined): number | undefined {
  return text === undefined ? now : text === '0' ? undefined : positive(text, flag, integer);
}

/** Standby clones per VM shape (vch serve --standby-clones): 0 to 16; each one is an idle VM in the pool. */
export function standbyClones(text: string | undefined, instantClone: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new Error(`--standby-clones wants a whole number from 0 to 16, got ${JSON.stringify(text)}`);
  if (n > 0 && !instantClone) throw new Error('--standby-clones needs instant clone (the VCH was made with --no-instant-clone)');
  return n;
}

export function existingDirectory(path: string, flag: string): string {
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new Error(`${flag}: ${path} is not an existing directory`);
  return path;
}

export function existingFile(path: string, flag: string): string {
  if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`${flag}: ${path} is not an existing file`);
  return path;
}

export function bridgeRange(cidr: string): string {
  try {
    return formatSubnet(parseSubnet(cidr));
  } catch (err) {
    throw new Error(`--bridge-network-range: ${(err as Error).message}`);
  }
}

/** NAME:DIR or DIR (the `default` store). */
export function parseVolumeStore(spec: string): { name: string; dir: string } {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(\/.*)$/.exec(spec);
  const name = m ? m[1] : 'default';
  const dir = m ? m[2] : spec;
  if (!dir.startsWith('/')) throw new Error(`--volume-store wants [NAME:]/absolute/dir, got ${spec}`);
  return { name, dir };
}

export function parseEndpoint(text: string): { host: string; port?: number } {
  const m = /^(?:\[(.+)\]|([^:\]]+))(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`--endpoint wants HOST[:PORT], got ${text}`);
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`--endpoint: bad port ${m[3]}`);
  return { host: m[1] ?? m[2], port };
}

/** What this VCH would share with another one: the name is checked by the registry; ranges, stores, ports here. */
export function refuseClashes(candidate: Pick<VchSettings, 'name' | 'bridgeNetworkRange' | 'volumeStores' | 'endpoint' | 'datastore' | 'socket'>, others: VchSettings[]): void {
  for (const other of others) {
    if (other.name === candidate.name) continue;
    if (candidate.bridgeNetworkRange && other.bridgeNetworkRange
      && overlaps(parseSubnet(candidate.bridgeNetworkRange), parseSubnet(other.bridgeNetworkRange))) {
      throw new Error(`--bridge-network-range ${candidate.bridgeNetworkRange} overlaps VCH ${other.name}'s ${other.bridgeNetworkRange}`);
    }
    const theirStores = new Set(Object.values(other.volumeStores));
    for (const dir of Object.values(candidate.volumeStores)) {
      if (theirStores.has(dir)) throw new Error(`volume store ${dir} belongs to VCH ${other.name}`);
    }
    if (other.endpoint.port === candidate.endpoint.port) throw new Error(`port ${candidate.endpoint.port} is VCH ${other.name}'s endpoint`);
    if (other.datastore === candidate.datastore) throw new Error(`datastore ${candidate.datastore} is VCH ${other.name}'s`);
    if (other.socket === candidate.socket) throw new Error(`socket ${candidate.socket} is VCH ${other.name}'s`);
  }
}

export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The first port from 2376 up that no VCH has and nothing listens on. */
export async function freePort(host: string, taken: Set<number>, from = 2376): Promise<number> {
  for (let port = from; port < from + 1000; port++) {
    if (!taken.has(port) && await portFree(host, port)) return port;
  }
  throw new Error(`no free port from ${from} up`);
}
