// A VCH's settings: one JSON document per VCH in the VCH registry (<home>/vchs/<name>/settings.json),
// written atomically. Everything the supervisor needs to run its engine, and `inspect` to show, is here.
import { existsSync, readdirSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '../portlayer/atomic-file.ts';
import type { PredefinedNetwork } from '../portlayer/networks/model.ts';

export interface VchSettings {
  name: string;
  /** The Bonneville version the VCH runs (set by create and upgrade). */
  version: string;
  /** The code its engine runs: that version's release under <home>/releases (absent: the installed tree). */
  release?: string;
  created: string;
  /** Whether the supervisor keeps its engine running (and starts it when the supervisor starts). */
  enabled: boolean;
  /** The engine's datastore: containers, images, the default volume store, engine.log. */
  datastore: string;
  socket: string;
  endpoint: { host: string; port: number };
  limits: { memoryMiB?: number; cpus?: number; memoryReservationMiB?: number; cpuShares?: number };
  /** The default container VM size. */
  containerDefaults: { memoryMiB: number; cpus: number };
  /** Store name → directory holding its volumes (`default` included). */
  volumeStores: Record<string, string>;
  bridgeNetworkRange?: string;
  dnsServers: string[];
  tls: { cert: string; key: string; ca?: string; clientCertPath?: string; generated: boolean; verify: boolean };
  registries: { insecure: string[]; ca: string[]; whitelist: string[] };
  instantClone: boolean;
  /** Clones per VM shape restored ahead of time, each handed to one container start (absent: none). */
  standbyClones?: number;
  /** The admin page's port (served once `vch serve --admin-listen` exists). */
  adminPort: number;
  logLevel: 'info' | 'debug';
  /** The cgroup (per controller directory) holding the engine and its VMs. */
  resourcePool: { driver: 'v1' | 'v2'; dirs: string[] };
  /**
   * A VCH on vSphere (`create --target …`): its container VMs live in a resource pool and VM folder named
   * after it; the engine runs here with `--backend vsphere`. The credentials are in <vch dir>/vsphere-target.
   */
  vsphere?: {
    /** The SDK's host (for display). */
    host: string;
    /** The root-only file holding the SDK URL with its credentials (`vch serve --target-file`). */
    targetFile: string;
    thumbprint: string;
    computeResource: string;
    /** DATASTORE[/PATH] */
    imageStore: string;
    /** DATASTORE/PATH:NAME each */
    volumeStores: string[];
    bridgeNetwork: string;
    /** An existing port group: containers that publish ports (-p, -P) get a NIC on it. */
    publicNetwork?: string;
    /** Existing port groups offered as Docker networks under their aliases (--container-network …). */
    containerNetworks?: PredefinedNetwork[];
    /** The resource pool's limits. */
    pool: {
      cpuLimitMHz?: number; cpuReservationMHz?: number; memoryLimitMB?: number; memoryReservationMB?: number;
      /** Levels or a number of shares (absent: normal). */
      cpuShares?: 'low' | 'normal' | 'high' | number; memoryShares?: 'low' | 'normal' | 'high' | number;
    };
  };
  upgrade?: { state: 'upgraded' | 'rolled-back'; from: string; to: string; at: string };
  /** The settings before the last upgrade, for rollback. */
  previous?: Omit<VchSettings, 'previous'>;
}

export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;
/** Names the home directory uses for itself. */
const RESERVED = new Set(['vchs', 'registry', 'supervisor', 'run', 'releases']);

export function validateVchName(name: string | undefined): string {
  if (!name) throw new Error('--name is required');
  if (!NAME_PATTERN.test(name)) throw new Error(`invalid VCH name ${JSON.stringify(name)}: lower-case letters, digits and '-', at most 31`);
  if (RESERVED.has(name)) throw new Error(`the VCH name ${name} is reserved`);
  return name;
}

/** BONNEVILLE_HOME, or /var/lib/bonneville. */
export function bonnevilleHome(explicit?: string): string {
  return explicit ?? process.env.BONNEVILLE_HOME ?? '/var/lib/bonneville';
}

export class VchRegistry {
  readonly home: string;
  constructor(home: string) {
    this.home = home;
  }

  get vchsDir(): string {
    return join(this.home, 'vchs');
  }

  dirOf(name: string): string {
    return join(this.vchsDir, name);
  }

  settingsPath(name: string): string {
    return join(this.dirOf(name), 'settings.json');
  }

  exists(name: string): boolean {
    return existsSync(this.settingsPath(name));
  }

  read(name: string): VchSettings {
    if (!this.exists(name)) throw new Error(`no VCH named ${name} (in ${this.vchsDir})`);
    return readJson<VchSettings>(this.settingsPath(name));
  }

  write(settings: VchSettings): void {
    const dir = this.dirOf(settings.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writeJsonAtomic(this.settingsPath(settings.name), settings);
  }

  list(): VchSettings[] {
    if (!existsSync(this.vchsDir)) return [];
    return readdirSync(this.vchsDir).filter((n) => this.exists(n)).sort().map((n) => this.read(n));
  }
}
