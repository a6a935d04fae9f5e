// Things that happened to artifacts; the audit log and webhooks subscribe to them.
export type EventType = 'PUSH_ARTIFACT' | 'PULL_ARTIFACT' | 'DELETE_ARTIFACT' | 'DELETE_TAG';

export interface RegistryEvent {
  type: EventType;
  operator: string;
  projectId: number;
  projectName: string;
  repository: string;
  digest: string;
  tag: string | null;
  mediaType: string | null;
  occurredAt: number;
}

export type EventSink = (e: RegistryEvent) => void;

export class EventBus {
  private readonly sinks: EventSink[] = [];
  subscribe(sink: EventSink): void { this.sinks.push(sink); }
  emit(e: Omit<RegistryEvent, 'occurredAt'>): void {
    const full = { ...e, occurredAt: Date.now() };
    for (const sink of this.sinks) sink(full);
  }
}
