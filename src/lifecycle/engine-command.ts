// The engine a VCH's settings describe: `bonneville vch serve` with flags (vch serve stays the one place
// that builds an engine), started inside the VCH's cgroup before exec so that it and every QEMU it spawns
// are in the resource pool from their first instruction.
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VchSettings } from './settings.ts';
import { containerNetworkArgs } from './container-networks.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Node and the CLI inside a tree of Bonneville's code (the installed one, or a release's snapshot). */
function entryUnder(root: string): [string, string] {
  return [join(root, 'node_modules/.bin/node'), join(root, 'src/cli/bonneville.ts')];
}

export const [NODE, BONNEVILLE] = entryUnder(repoRoot);

/** Node and the CLI of the code the VCH runs: its release, else the installed tree. */
export function engineEntry(s: VchSettings): [string, string] {
  return entryUnder(s.release ?? repoRoot);
}

export function vchServeArgs(s: VchSettings): string[] {
  const args = ['vch', 'serve', '--name', s.name, '--datastore', s.datastore, '--socket', s.socket,
    '--tls-listen', `${s.endpoint.host.includes(':') ? `[${s.endpoint.host}]` : s.endpoint.host}:${s.endpoint.port}`,
    '--tls-cert', s.tls.cert, '--tls-key', s.tls.key,
    '--memory', String(s.containerDefaults.memoryMiB), '--cpus', String(s.containerDefaults.cpus),
    '--log-level', s.logLevel];
  args.push('--admin-listen', `${s.endpoint.host.includes(':') ? `[${s.endpoint.host}]` : s.endpoint.host}:${s.adminPort}`);
  if (s.tls.verify && s.tls.ca) args.push('--tls-ca', s.tls.ca);
  else args.push('--no-tlsverify');
  if (s.limits.memoryMiB) args.push('--memory-limit', String(s.limits.memoryMiB));
  if (s.limits.cpus) args.push('--cpu-limit', String(s.limits.cpus));
  if (s.limits.memoryReservationMiB) args.push('--memory-reservation', String(s.limits.memoryReservationMiB));
  if (s.limits.cpuShares) args.push('--cpu-shares', String(s.limits.cpuShares));
  if (s.vsphere) {
    // The credentials stay in a root-only file, out of the process list.
    args.push('--backend', 'vsphere', '--target-file', s.vsphere.targetFile,
      '--thumbprint', s.vsphere.thumbprint, '--compute-resource', s.vsphere.computeResource, '--image-store', s.vsphere.imageStore,
      '--bridge-network', s.vsphere.bridgeNetwork);
    for (const spec of s.vsphere.volumeStores) args.push('--volume-store', spec);
    if (s.vsphere.publicNetwork) args.push('--public-network', s.vsphere.publicNetwork);
    args.push(...containerNetworkArgs(s.vsphere.containerNetworks ?? []));
  } else {
    for (const [name, dir] of Object.entries(s.volumeStores)) args.push('--volume-store', `${name}:${dir}`);
  }
  if (s.bridgeNetworkRange) args.push('--bridge-network-range', s.bridgeNetworkRange);
  for (const d of s.dnsServers) args.push('--dns-server', d);
  for (const r of s.registries.insecure) args.push('--insecure-registry', r);
  for (const r of s.registries.ca) args.push('--registry-ca', r);
  for (const r of s.registries.whitelist) args.push('--allowed-registry', r);
  if (!s.instantClone) args.push('--no-instant-clone');
  if (s.standbyClones) args.push('--standby-clones', String(s.standbyClones));
  return args;
}

/**
 * sh joins the cgroup (its pid written to each controller's cgroup.procs) and execs the engine: the
 * engine is in the pool before it runs, and QEMU children inherit it. A failed join is fatal (exit 97):
 * an engine outside its pool would run without limits.
 */
export const JOIN_CGROUP_AND_EXEC = 'for f in $BONNEVILLE_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"';
