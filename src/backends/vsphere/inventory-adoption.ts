// Re-adoption: an engine (re)starting reads its container VMs back from the inventory — every VM in
// the VCH's folder whose extraConfig names this VCH and a container id — and follows their power
// state through the property collector (a container view over the folder, so VMs created later are
// seen too).
import type { VimClient } from '../../vim25/session.ts';
import { listVMs, virtualMachineInfo } from '../../vim25/virtual-machine.ts';
import { PropertyWatch } from '../../vim25/property-collector.ts';
import type { ManagedObjectReference, PowerState } from '../../vim25/types.ts';
import { KEY_CONFIG, KEY_ID, KEY_NAME, KEY_VCH } from './container-vm.ts';
import type { VchPlacement } from './vch-pool.ts';

export interface AdoptedContainer {
  id: string;
  name: string;
  ref: ManagedObjectReference;
  powerState: PowerState;
  config: unknown;
}

export interface PowerChange {
  ref: ManagedObjectReference;
  /** Undefined for VMs not Bonneville's (no container id in extraConfig). */
  id: string | undefined;
  /** Undefined when the VM left the folder (destroyed or moved). */
  powerState: PowerState | undefined;
}

function parseConfig(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** This VCH's container VMs as the inventory has them; VMs of other VCHs or none are skipped. */
export async function listContainers(client: VimClient, vch: VchPlacement): Promise<AdoptedContainer[]> {
  const out: AdoptedContainer[] = [];
  for (const vm of await listVMs(client, vch.folder)) {
    const id = vm.extraConfig[KEY_ID];
    if (!id || vm.extraConfig[KEY_VCH] !== vch.name) continue;
    out.push({ id, name: vm.extraConfig[KEY_NAME] ?? '', ref: vm.ref, powerState: vm.powerState, config: parseConfig(vm.extraConfig[KEY_CONFIG]) });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Power state changes of every VM in the VCH's folder, the current state of each first. */
export class PowerWatch implements AsyncIterable<PowerChange[]> {
  readonly client: VimClient;
  readonly watch: PropertyWatch;
  readonly view: ManagedObjectReference;
  private readonly ids = new Map<string, string | undefined>();
  private withIds = true;

  private constructor(client: VimClient, watch: PropertyWatch, view: ManagedObjectReference) {
    this.client = client;
    this.watch = watch;
    this.view = view;
  }

  /** `withIds` false: changes carry no container id (saves one read per VM first seen, for a caller matching refs). */
  static async create(client: VimClient, vch: VchPlacement, maxWaitSeconds = 30, withIds = true): Promise<PowerWatch> {
    const view = await client.invokeRef('CreateContainerView', client.manager('viewManager'), { container: vch.folder, type: ['VirtualMachine'], recursive: true });
    try {
      const watch = await PropertyWatch.create(client, [
        {
          propSet: [{ type: 'VirtualMachine', pathSet: ['runtime.powerState'] }],
          objectSet: [{ obj: view, skip: true, selectSet: [{ $type: 'TraversalSpec', name: 'view', type: 'ContainerView', path: 'view', skip: false }] }],
        },
      ], { maxWaitSeconds });
      const made = new PowerWatch(client, watch, view);
      made.withIds = withIds;
      return made;
    } catch (err) {
      await client.invoke('DestroyView', view).catch(() => {});
      throw err;
    }
  }

  private async idOf(ref: ManagedObjectReference): Promise<string | undefined> {
    if (!this.ids.has(ref.value)) {
      const info = await virtualMachineInfo(this.client, ref).catch(() => undefined);
      this.ids.set(ref.value, info?.extraConfig[KEY_ID]);
    }
    return this.ids.get(ref.value);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<PowerChange[]> {
    try {
      for await (const batch of this.watch) {
        const out: PowerChange[] = [];
        for (const u of batch) {
          if (u.kind === 'leave') {
            out.push({ ref: u.obj, id: this.ids.get(u.obj.value), powerState: undefined });
            this.ids.delete(u.obj.value);
            continue;
          }
          const c = u.changes.find((x) => x.name === 'runtime.powerState');
          if (c) out.push({ ref: u.obj, id: this.withIds ? await this.idOf(u.obj) : undefined, powerState: c.value as PowerState });
        }
        if (out.length) yield out;
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.watch.close();
    await this.client.invoke('DestroyView', this.view).catch(() => {});
  }
}
