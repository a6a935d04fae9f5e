// The conformance suite on the vSphere backend against vcsim (build/vcsim, scripts/build-vcsim.sh).
// vcsim keeps an inventory and power states but runs no guest: what needs a process inside the VM is
// skipped (noGuest); disks, boot (create + power on), kill, adoption after a restart and teardown are
// exercised against vcsim's API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vcsim } from '../helpers/vcsim.ts';
import { VimClient } from '../../src/vim25/session.ts';
import { resolveTarget } from '../../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch } from '../../src/backends/vsphere/vch-pool.ts';
import { DiskStore } from '../../src/backends/vsphere/disk-store.ts';
import { VsphereDiskStore } from '../../src/backends/vsphere/vsphere-disks.ts';
import { PortgroupPlumbing } from '../../src/backends/vsphere/portgroup-plumbing.ts';
import { VsphereBackend, type VsphereBackendOptions } from '../../src/backends/vsphere/backend.ts';
import { backendConformance } from './conformance.ts';

backendConformance('vsphere', async () => {
  const sim = await Vcsim.start();
  const client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: sim.info.password });
  const target = await resolveTarget(client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
  const vch = await ensureVch(client, target, 'conformance', { memoryLimitMB: 4096 });
  const state = mkdtempSync(join(tmpdir(), 'bv-vsphere-conformance-'));
  const folders = new DiskStore(client, target, vch.name);
  const disks = new VsphereDiskStore({ client, target, folders, indexFile: join(state, 'vsphere-disks.json') });
  await disks.ensure();
  const options: VsphereBackendOptions = {
    client, target, vch, disks, networks: new PortgroupPlumbing(client, target, vch.name, () => {}), tetherURI: 'none',
  };
  const backends = [new VsphereBackend(options)];
  return {
    backend: backends[0],
    noGuest: 'vcsim runs no guest (its VMs are inventory entries with a power state)',
    restart: () => {
      // The dead engine stops following the feed; a new backend on the same vCenter adopts.
      void backends[backends.length - 1].close();
      backends.push(new VsphereBackend(options));
      return backends[backends.length - 1];
    },
    close: async () => {
      for (const b of backends) await b.close();
      await destroyVch(client, vch).catch(() => {});
      await folders.destroy().catch(() => {});
      await client.logout().catch(() => {});
      await sim.stop();
      rmSync(state, { recursive: true, force: true });
    },
  };
});
