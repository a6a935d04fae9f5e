// From vic-machine's flags to an opened vSphere backend: `--target https://USER:PASS@HOST/sdk`
// (credentials in the URL, or given apart), `--thumbprint` (the certificate pinned), `--compute-resource`
// (`/DC/host/CLUSTER`, or a bare cluster or host name in the only datacenter), `--image-store
// DATASTORE[/PATH]`, `--volume-store DATASTORE/PATH:NAME`, `--bridge-network PG` (its distributed
// switch takes the VCH's per-network port groups). The VCH's pool and folder must exist (made by
// `bonneville create`, or here with `ensure`).
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { VimClient } from '../../vim25/session.ts';
import { mustFind } from '../../vim25/inventory.ts';
import { retrieveContained } from '../../vim25/property-collector.ts';
import { portgroupNamed } from '../../vim25/dvs.ts';
import { DiskStore } from './disk-store.ts';
import { resolveTarget, type Target } from './target.ts';
import { ensureVch, findVch, type VchLimits, type VchPlacement } from './vch-pool.ts';
import { VsphereDiskStore, type VolumeStoreLocation } from './vsphere-disks.ts';
import { PortgroupPlumbing } from './portgroup-plumbing.ts';
import { VsphereBackend } from './backend.ts';

export interface VsphereFlags {
  /** `https://USER:PASS@HOST/sdk`. */
  target: string;
  username?: string;
  password?: string;
  thumbprint: string;
  computeResource: string;
  /** `DATASTORE[/PATH]`. */
  imageStore: string;
  /** `DATASTORE/PATH:NAME` (NAME `default` replaces the image store's volumes folder). */
  volumeStores?: string[];
  /** An existing DV port group: its switch takes the VCH's networks. Absent: the datacenter's only switch. */
  bridgeNetwork?: string;
  /** An existing port group: containers that publish ports get a NIC on it. */
  publicNetwork?: string;
}

export interface ParsedTarget {
  url: string;
  username: string;
  password: string;
}

/** Splits the credentials off the SDK URL (flags given apart win). */
export function parseTargetUrl(target: string, username?: string, password?: string): ParsedTarget {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(target) ? target : `https://${target}`);
  } catch {
    throw new Error(`--target wants https://USER:PASS@HOST/sdk, got ${JSON.stringify(target)}`);
  }
  if (u.protocol !== 'https:') throw new Error(`--target must be https (got ${u.protocol})`);
  const user = username ?? decodeURIComponent(u.username);
  const pass = password ?? decodeURIComponent(u.password);
  if (!user || !pass) throw new Error('--target names no user and password (https://USER:PASS@HOST/sdk)');
  u.username = '';
  u.password = '';
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/sdk';
  return { url: u.toString(), username: user, password: pass };
}

/** `DATASTORE[/PATH]` → datastore and path. */
export function parseImageStore(spec: string): { datastore: string; path: string } {
  const m = /^([^/[\]]+)(?:\/(.*))?$/.exec(spec.replace(/^ds:\/\//, ''));
  if (!m) throw new Error(`--image-store wants DATASTORE[/PATH], got ${JSON.stringify(spec)}`);
  return { datastore: m[1], path: (m[2] ?? '').replace(/\/+$/, '') };
}

/** `DATASTORE/PATH:NAME` → the store's name, datastore and folder. */
export function parseVolumeStore(spec: string): { name: string; datastore: string; path: string } {
  const m = /^(?:ds:\/\/)?([^/:[\]]+)\/([^:]+):([A-Za-z0-9][A-Za-z0-9_.-]*)$/.exec(spec);
  if (!m) throw new Error(`--volume-store wants DATASTORE/PATH:NAME, got ${JSON.stringify(spec)}`);
  return { datastore: m[1], path: m[2].replace(/\/+$/, ''), name: m[3] };
}

async function datacenterNames(client: VimClient): Promise<string[]> {
  return (await retrieveContained(client, client.content.rootFolder, 'Datacenter', ['name'])).map((d) => String(d.props.name));
}

/** `/DC/host/CR[/...]`, `DC/host/CR`, or `CR` alone when there is one datacenter. */
export async function parseComputeResource(client: VimClient, spec: string): Promise<{ datacenter: string; computeResource: string }> {
  const parts = spec.split('/').filter(Boolean);
  const at = parts.indexOf('host');
  if (at > 0 && parts.length > at + 1) return { datacenter: parts.slice(0, at).join('/'), computeResource: parts[at + 1] };
  if (parts.length !== 1) throw new Error(`--compute-resource wants /DATACENTER/host/CLUSTER or a cluster's name, got ${JSON.stringify(spec)}`);
  const dcs = await datacenterNames(client);
  if (dcs.length !== 1) throw new Error(`--compute-resource ${spec}: there are ${dcs.length} datacenters, name one (/DATACENTER/host/${spec})`);
  return { datacenter: dcs[0], computeResource: parts[0] };
}

/** The distributed switch for the VCH's port groups: the bridge network's, else the only one. */
async function switchName(client: VimClient, datacenter: string, bridgeNetwork?: string): Promise<string> {
  const dc = await mustFind(client, datacenter, 'Datacenter');
  const switches = await retrieveContained(client, dc, 'DistributedVirtualSwitch', ['name', 'uuid']);
  if (bridgeNetwork) {
    const pg = await portgroupNamed(client, dc, bridgeNetwork, '--bridge-network', datacenter);
    const sw = switches.find((s) => String(s.props.uuid) === pg.switchUuid);
    if (!sw) throw new Error(`--bridge-network ${bridgeNetwork}: its switch is not in ${datacenter}`);
    return String(sw.props.name);
  }
  if (switches.length !== 1) throw new Error(`${datacenter} has ${switches.length} distributed switches: name the bridge network's port group (--bridge-network)`);
  return String(switches[0].props.name);
}

export interface OpenedVsphere {
  client: VimClient;
  target: Target;
  /** Undefined only with allowMissing, when the VCH has no pool and folder. */
  vch: VchPlacement | undefined;
  imageStore: { datastore: string; path: string };
}

export interface OpenOptions {
  /** Make the pool (with these limits) and folder when missing. */
  ensure?: { limits: VchLimits };
  /** A VCH without pool and folder is no error (vch undefined). */
  allowMissing?: boolean;
}

/** Logs in and resolves where the VCH lives (the caller logs the client out). */
export async function openVsphere(flags: VsphereFlags, vchName: string, options: OpenOptions = {}): Promise<OpenedVsphere> {
  const { ensure } = options;
  const login = parseTargetUrl(flags.target, flags.username, flags.password);
  const imageStore = parseImageStore(flags.imageStore);
  const client = await VimClient.connect({ url: login.url, thumbprint: flags.thumbprint, username: login.username, password: login.password });
  try {
    const { datacenter, computeResource } = await parseComputeResource(client, flags.computeResource);
    const dvs = await switchName(client, datacenter, flags.bridgeNetwork);
    const target = await resolveTarget(client, { datacenter, computeResource, datastore: imageStore.datastore, dvs });
    const vch = ensure ? await ensureVch(client, target, vchName, ensure.limits) : await findVch(client, target, vchName);
    if (!vch && !options.allowMissing) throw new Error(`VCH ${vchName} has no resource pool and VM folder under ${datacenter}/host/${computeResource}: create it with bonneville create`);
    return { client, target, vch, imageStore };
  } catch (err) {
    await client.logout().catch(() => {});
    throw err;
  }
}

export interface VsphereBackendSetup extends VsphereFlags {
  vchName: string;
  /** The engine's local datastore: the disk index, and the local side of the volume stores. */
  stateDir: string;
  tetherURI: string;
  /** The local bootstrap ISO container VMs boot from (guest/build-iso.sh). */
  bootIso?: string;
  log: (line: string) => void;
}

/**
 * The backend, opened and following its VMs, plus the local directories the port layer should use
 * for the volume stores (their disks live in the datastore folders the flags named).
 */
export async function openVsphereBackend(setup: VsphereBackendSetup): Promise<{ backend: VsphereBackend; volumeStores: Record<string, string> }> {
  const opened = await openVsphere(setup, setup.vchName);
  const { client, target, imageStore } = opened;
  const vch = opened.vch!;
  try {
    const volumeStores: Record<string, string> = {};
    const locations: VolumeStoreLocation[] = [];
    for (const spec of setup.volumeStores ?? []) {
      const v = parseVolumeStore(spec);
      const localDir = join(setup.stateDir, 'volume-stores', v.name);
      mkdirSync(localDir, { recursive: true, mode: 0o700 });
      volumeStores[v.name] = localDir;
      locations.push({ localDir, datastore: v.datastore, path: v.path });
    }
    const disks = new VsphereDiskStore({
      client,
      target,
      folders: new DiskStore(client, target, vch.name, imageStore.path),
      indexFile: join(setup.stateDir, 'vsphere-disks.json'),
      volumeStores: locations,
    });
    await disks.ensure();
    const backend = new VsphereBackend({ client, target, vch, disks, networks: new PortgroupPlumbing(client, target, vch.name, setup.log, setup.publicNetwork), tetherURI: setup.tetherURI, bootIso: setup.bootIso, imageStorePath: imageStore.path, log: setup.log, ownsClient: true });
    await backend.start();
    return { backend, volumeStores };
  } catch (err) {
    await client.logout().catch(() => {});
    throw err;
  }
}
