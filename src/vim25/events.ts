// Events: EventManager.QueryEvents for an entity's history (VmPoweredOnEvent, VmCreatedEvent, …).
// For live power changes, watch runtime.powerState with a PropertyWatch instead.
import type { VimClient } from './session.ts';
import { toValue } from './xml.ts';
import { ManagedObjectReference } from './types.ts';

export interface VimEvent {
  type: string;
  key: number;
  createdTime: string;
  message: string;
  vm?: ManagedObjectReference;
}

export async function queryEvents(client: VimClient, entity: ManagedObjectReference, eventTypes?: string[]): Promise<VimEvent[]> {
  const em = client.manager('eventManager');
  const tx = await client.transport.invokeAll('QueryEvents', em, {
    filter: { entity: { entity, recursion: 'all' }, eventTypeId: eventTypes },
  });
  return tx.map((el) => {
    const v = toValue(el) as Record<string, unknown>;
    const vm = (v.vm ?? {}) as Record<string, unknown>;
    return {
      type: el.xsiType ?? 'Event',
      key: Number(v.key),
      createdTime: String(v.createdTime ?? ''),
      message: String(v.fullFormattedMessage ?? ''),
      vm: vm.vm instanceof ManagedObjectReference ? vm.vm : undefined,
    };
  });
}
