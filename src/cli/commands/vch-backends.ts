// The one place `vch serve` picks a backend: qemu (container VMs on this host) or vsphere (container
// VMs on vCenter/ESXi). Each opener returns the port layer's Backend and what serving it needs beside
// (the volume stores' local directories, a line for the log, work after the engine starts, close).
import { hostname } from 'node:os';
import type { Backend } from '../../portlayer/backend.ts';
import { QemuBackend } from '../../backends/qemu/backend.ts';
import { findGuestArtifacts } from '../../backends/qemu/guest-artifacts.ts';
import { chooseAccelerator } from '../../backends/qemu/accel-probe.ts';
import { readTscKhz } from '../../backends/qemu/host.ts';
import { openVsphereBackend } from '../../backends/vsphere/connect.ts';
import { vchIdentity } from '../../engine/engine.ts';
import { join } from 'node:path';

export interface ServedBackend {
  backend: Backend;
  /** Named volume stores: local directories for the port layer's records. */
  volumeStores: Record<string, string>;
  /** For the start-up log line. */
  summary: string;
  /** After the engine answers (qemu: make the default shape's template). */
  afterStart?(memoryMiB: number, cpus: number): void;
  close?(): Promise<void>;
}

export interface QemuServeOptions {
  datastore: string;
  guestDir: string;
  qemuBinary: string;
  accel?: string;
  bootTimeout: number;
  bootSlots?: number;
  noInstantClone: boolean;
  volumeStores: Record<string, string>;
  /** Clones per VM shape restored ahead of time and paused, each handed to one container start. */
  standbyClones: number;
  log: (line: string) => void;
}

export async function openQemu(o: QemuServeOptions): Promise<ServedBackend> {
  const guest = findGuestArtifacts(o.guestDir);
  const tscKhz = readTscKhz();
  const accel = await chooseAccelerator({
    qemuBinary: o.qemuBinary,
    guest,
    tscKhz,
    // /run is per host boot, like the answer: every VCH on this host shares one probe.
    cacheFile: '/run/bonneville/accelerator.json',
    forced: o.accel ?? process.env.BONNEVILLE_ACCEL,
  });
  const instantCloneOff = o.noInstantClone ? '--no-instant-clone'
    : process.env.BONNEVILLE_INSTANT_CLONE === '0' ? 'BONNEVILLE_INSTANT_CLONE=0' : undefined;
  const backend = new QemuBackend({
    qemuBinary: o.qemuBinary,
    kernel: guest.kernel,
    initrd: guest.initrd,
    kernelVersion: guest.kernelVersion,
    accel: accel.accel,
    accelReason: accel.reason,
    tscKhz,
    bootTimeoutSeconds: o.bootTimeout,
    bootSlots: o.bootSlots,
    templatesDir: instantCloneOff ? undefined : join(o.datastore, 'templates'),
    instantCloneOffReason: instantCloneOff ? `disabled by ${instantCloneOff}` : undefined,
    log: o.log,
    // Names this VCH's bridges and taps; BONNEVILLE_NETWORKS=0 leaves containers with loopback only.
    vchId: process.env.BONNEVILLE_NETWORKS === '0' ? undefined : vchIdentity(o.datastore),
    standbyClones: o.standbyClones,
    standbyDir: join(o.datastore, 'standby'),
  });
  return {
    backend,
    volumeStores: o.volumeStores,
    summary: `qemu, ${accel.accel}: ${accel.reason}`,
    // The default VM shape's template is made now, in the background; other shapes at first use.
    afterStart: (memoryMiB, cpus) => void backend.prepareTemplate(memoryMiB, cpus),
    close: () => backend.close(),
  };
}

export interface VsphereServeOptions {
  name: string;
  datastore: string;
  target?: string;
  thumbprint?: string;
  computeResource?: string;
  imageStore?: string;
  bridgeNetwork?: string;
  publicNetwork?: string;
  /** vic-machine's DATASTORE/PATH:NAME. */
  volumeStores: string[];
  tetherURI?: string;
  /** The guest build's directory: its bootstrap.iso is what container VMs boot. */
  guestDir?: string;
  log: (line: string) => void;
}

export async function openVsphere(o: VsphereServeOptions): Promise<ServedBackend> {
  const missing = (['target', 'thumbprint', 'computeResource', 'imageStore'] as const).filter((k) => !o[k]);
  if (missing.length) {
    const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new Error(`--backend vsphere needs ${missing.map(flag).join(', ')}`);
  }
  const { backend, volumeStores } = await openVsphereBackend({
    target: o.target!,
    thumbprint: o.thumbprint!,
    computeResource: o.computeResource!,
    imageStore: o.imageStore!,
    bridgeNetwork: o.bridgeNetwork,
    publicNetwork: o.publicNetwork,
    volumeStores: o.volumeStores,
    vchName: o.name,
    stateDir: o.datastore,
    tetherURI: o.tetherURI ?? `tcp://${hostname()}:2377`,
    bootIso: o.guestDir ? join(o.guestDir, 'bootstrap.iso') : undefined,
    log: o.log,
  });
  const host = new URL(o.target!.replace(/\/\/[^@/]*@/, '//')).host;
  return {
    backend,
    volumeStores,
    summary: `vsphere on ${host}, VCH pool and folder ${o.name}`,
    close: () => backend.close(),
  };
}
