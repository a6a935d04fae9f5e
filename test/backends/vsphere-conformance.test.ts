// The conformance suite on the vSphere backend against vcsim (build/vcsim, scripts/build-vcsim.sh)
// with the test host agent playing ESXi (test/helpers/host-agent.ts): each container VM vcsim powers
// on runs in QEMU (TCG), boots the bootstrap ISO (build/guest, guest/build.sh) and its tether connects
// over the serial line to the backend's listener. So everything runs here, guest included, except
// pause, which the vSphere backend does not declare.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VcsimWithGuests } from '../helpers/vsphere-guests.ts';
import { repoRoot } from '../helpers/vch.ts';
import { resolveTarget } from '../../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch } from '../../src/backends/vsphere/vch-pool.ts';
import { DiskStore } from '../../src/backends/vsphere/disk-store.ts';
import { VsphereDiskStore } from '../../src/backends/vsphere/vsphere-disks.ts';
import { PortgroupPlumbing } from '../../src/backends/vsphere/portgroup-plumbing.ts';
import { VsphereBackend, type VsphereBackendOptions } from '../../src/backends/vsphere/backend.ts';
import { backendConformance } from './conformance.ts';

backendConformance('vsphere', async () => {
  const host = await VcsimWithGuests.start();
  const { client } = host;
  const target = await resolveTarget(client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
  const vch = await ensureVch(client, target, 'conformance', { memoryLimitMB: 4096 });
  const state = mkdtempSync(join(tmpdir(), 'bv-vsphere-conformance-'));
  const folders = new DiskStore(client, target, vch.name);
  const disks = new VsphereDiskStore({ client, target, folders, indexFile: join(state, 'vsphere-disks.json') });
  await disks.ensure();
  const logLines: string[] = [];
  const options: VsphereBackendOptions = {
    client, target, vch, disks, networks: new PortgroupPlumbing(client, target, vch.name, () => {}),
    tetherURI: host.tetherURI, bootIso: join(repoRoot, 'build/guest/bootstrap.iso'), imageStorePath: 'bonneville',
    log: (line) => { logLines.push(line); },
  };
  const backends = [new VsphereBackend(options)];
  return {
    backend: backends[0],
    restart: async () => {
      // The dead engine stops following the feed and its listener goes (the VMs' serial ports lose
      // their connection and retry); a new backend on the same vCenter and tether port adopts.
      await backends[backends.length - 1].close();
      backends.push(new VsphereBackend(options));
      return backends[backends.length - 1];
    },
    close: async () => {
      for (const b of backends) await b.close();
      await destroyVch(client, vch).catch(() => {});
      await folders.destroy().catch(() => {});
      if (host.agent.problems.length > 0) console.error(`host agent: ${host.context()}\nbackend log:\n${logLines.slice(-40).join('\n')}`);
      await host.stop();
      rmSync(state, { recursive: true, force: true });
    },
  };
});
