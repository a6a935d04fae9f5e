// What the admin page's status shows: the engine, its containers, its registries, its datastore's
// storage and the limits its VMs live under — collected on demand from the running engine.
import { statfs, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus, totalmem, release } from 'node:os';
import type { BackendInfo } from '../portlayer/backend.ts';
import type { ContainerView } from '../portlayer/containers/model.ts';
import type { RegistryAccess } from '../portlayer/images/registry/access.ts';
import { probeRegistries, type RegistryReachability } from './registry-probe.ts';
import { readCgroupLimits, type CgroupLimits } from './cgroup-limits.ts';

/** The running VCH, as the admin page sees it (read-only). */
export interface VchView {
  name: string;
  datastore: string;
  version: string;
  startedAt: Date;
  qemuBinary: string;
  backend(): BackendInfo;
  containers(): ContainerView[];
  imageCount(): number;
  registryAccess(): RegistryAccess;
  defaults: { memoryMiB: number; cpus: number };
}

export interface PartSize {
  part: 'images' | 'containers' | 'volumes';
  /** Bytes allocated on disk (the disks are sparse: this is what they cost). */
  allocatedBytes: number;
  /** Sum of the files' sizes. */
  apparentBytes: number;
}

export interface VchStatus {
  engine: { name: string; version: string; startedAt: string; uptimeSeconds: number; backend: string; accelerator: string; guestKernel: string; details: Array<[string, string]>; node: string; hostKernel: string };
  containers: { total: number; running: number; paused: number; stopped: number; images: number };
  registries: RegistryReachability[];
  storage: { datastore: string; totalBytes: number; usedBytes: number; freeBytes: number; parts: PartSize[] };
  limits: { defaultVmMemoryMiB: number; defaultVmCpus: number; hostCpus: number; hostMemoryBytes: number; cgroup: CgroupLimits };
}

export function containerCounts(view: VchView): VchStatus['containers'] {
  const all = view.containers();
  const up = all.filter((c) => c.state.status === 'running');
  const paused = up.filter((c) => c.state.paused).length;
  return { total: all.length, running: up.length - paused, paused, stopped: all.length - up.length, images: view.imageCount() };
}

async function directorySize(dir: string): Promise<{ allocated: number; apparent: number }> {
  let allocated = 0;
  let apparent = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return { allocated, apparent };
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = await directorySize(path);
      allocated += inner.allocated;
      apparent += inner.apparent;
      continue;
    }
    try {
      const st = await lstat(path);
      allocated += st.blocks * 512;
      apparent += st.size;
    } catch {
      // removed while we looked
    }
  }
  return { allocated, apparent };
}

/** The datastore's filesystem and each part's size; walking the parts is cached for a few seconds. */
export class StorageSurvey {
  private readonly datastore: string;
  private cached?: { at: number; parts: PartSize[] };
  private static readonly TTL_MS = 10_000;

  constructor(datastore: string) {
    this.datastore = datastore;
  }

  async survey(): Promise<VchStatus['storage']> {
    const fs = await statfs(this.datastore);
    const totalBytes = fs.blocks * fs.bsize;
    const freeBytes = fs.bavail * fs.bsize;
    const usedBytes = (fs.blocks - fs.bfree) * fs.bsize;
    if (!this.cached || Date.now() - this.cached.at > StorageSurvey.TTL_MS) {
      const parts: PartSize[] = [];
      for (const part of ['images', 'containers', 'volumes'] as const) {
        const size = await directorySize(join(this.datastore, part));
        parts.push({ part, allocatedBytes: size.allocated, apparentBytes: size.apparent });
      }
      this.cached = { at: Date.now(), parts };
    }
    return { datastore: this.datastore, totalBytes, usedBytes, freeBytes, parts: this.cached.parts };
  }
}

export async function collectStatus(view: VchView, storage: StorageSurvey): Promise<VchStatus> {
  const info = view.backend();
  const [registries, storageNow] = await Promise.all([probeRegistries(view.registryAccess()), storage.survey()]);
  return {
    engine: {
      name: view.name,
      version: view.version,
      startedAt: view.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - view.startedAt.getTime()) / 1000),
      backend: info.name,
      accelerator: info.accelerator,
      guestKernel: info.kernelVersion,
      details: info.details,
      node: process.version,
      hostKernel: release(),
    },
    containers: containerCounts(view),
    registries,
    storage: storageNow,
    limits: {
      defaultVmMemoryMiB: view.defaults.memoryMiB,
      defaultVmCpus: view.defaults.cpus,
      hostCpus: cpus().length,
      hostMemoryBytes: totalmem(),
      cgroup: readCgroupLimits(),
    },
  };
}
