// Lifecycle events as `docker events` shows them: the container's labels, image and name as attributes.
import type { EventLog } from '../events.ts';
import type { LiveContainer } from './live-container.ts';

export type Announce = (entry: LiveContainer, action: string, extra?: Record<string, string>) => void;

export function announcer(events: EventLog): Announce {
  return (entry, action, extra = {}) => {
    const spec = entry.record.spec;
    events.record('container', action, entry.record.id, { ...spec.labels, image: spec.imageReference, name: spec.name, ...extra });
  };
}
