// `docker pause` / `unpause`: the VM's CPUs stop; its process, memory and connections stay. A signal
// for a paused container needs the VM thawed first. Pausing is a capability the backend declares
// (BackendCapabilities.pause): without it, 501.
import type { VmHandle } from '../backend.ts';
import { conflict, PortLayerError } from '../errors.ts';
import type { LiveContainer } from './live-container.ts';
import type { ContainerContext } from './context.ts';

/** What a backend without the pause capability answers. */
export function pauseUnsupported(backendName: string): PortLayerError {
  return new PortLayerError('NotImplemented', `this VCH's backend (${backendName}) cannot pause containers`);
}

function pausing(vm: VmHandle): Required<Pick<VmHandle, 'pause' | 'resume'>> {
  if (!vm.pause || !vm.resume) throw new PortLayerError('NotImplemented', "this VCH's backend cannot pause containers");
  return { pause: () => vm.pause!(), resume: () => vm.resume!() };
}

export async function pause(entry: LiveContainer, deps: ContainerContext): Promise<void> {
  if (entry.starting) await entry.starting.catch(() => undefined);
  const vm = entry.vm;
  if (!vm) throw conflict(`Container ${entry.record.id} is not running`);
  if (entry.state.paused) throw conflict(`Container ${entry.record.id} is already paused`);
  await pausing(vm).pause();
  entry.state = { ...entry.state, paused: true };
  deps.store.saveState(entry.record.id, entry.state);
  deps.announce(entry, 'pause');
}

export async function unpause(entry: LiveContainer, deps: ContainerContext): Promise<void> {
  const vm = entry.vm;
  if (!vm || !entry.state.paused) throw conflict(`Container ${entry.record.id} is not paused`);
  await pausing(vm).resume();
  entry.state = { ...entry.state, paused: false };
  deps.store.saveState(entry.record.id, entry.state);
  deps.announce(entry, 'unpause');
}

/** A signal sent to a paused container waits in the channel; thawing the VM lets it arrive (as dockerd does). */
export async function thawForSignal(entry: LiveContainer, vm: VmHandle, deps: ContainerContext): Promise<void> {
  if (!entry.state.paused) return;
  await vm.resume?.().catch(() => undefined);
  entry.state = { ...entry.state, paused: false };
  if (deps.live.has(entry.record.id)) deps.store.saveState(entry.record.id, entry.state);
}
