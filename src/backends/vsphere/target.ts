// Where a VCH lives in vSphere: a datacenter, a compute resource (cluster or standalone host) whose
// root pool parents the VCH's pool, a datastore, and a distributed switch for its networks.
// Resolved once from inventory paths into references.
import type { VimClient } from '../../vim25/session.ts';
import { datacenterFolders, mustFind } from '../../vim25/inventory.ts';
import { switchUuid } from '../../vim25/dvs.ts';
import type { ManagedObjectReference } from '../../vim25/types.ts';

export interface TargetConfig {
  /** Inventory path of the datacenter, e.g. `DC0`. */
  datacenter: string;
  /** Name of the cluster or standalone host under the datacenter's host folder, e.g. `DC0_C0`. */
  computeResource: string;
  datastore: string;
  /** Name of the distributed switch under the datacenter's network folder. */
  dvs: string;
}

export interface Target {
  config: TargetConfig;
  datacenter: ManagedObjectReference;
  vmFolder: ManagedObjectReference;
  rootPool: ManagedObjectReference;
  dvs: ManagedObjectReference;
  dvsUuid: string;
}

export async function resolveTarget(client: VimClient, config: TargetConfig): Promise<Target> {
  const datacenter = await mustFind(client, config.datacenter, 'Datacenter');
  const { vmFolder } = await datacenterFolders(client, datacenter);
  const rootPool = await mustFind(client, `${config.datacenter}/host/${config.computeResource}/Resources`, 'ResourcePool');
  const dvs = await mustFind(client, `${config.datacenter}/network/${config.dvs}`);
  return { config, datacenter, vmFolder, rootPool, dvs, dvsUuid: await switchUuid(client, dvs) };
}
