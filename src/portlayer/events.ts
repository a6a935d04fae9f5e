// What happened in the VCH, for `docker events` and for clients that wait on events (old docker CLIs
// detect a container's end by its "die" event). Kept in memory: a bounded history for `since`, plus
// live subscribers.
import { EventEmitter } from 'node:events';

export interface VchEvent {
  type: 'container' | 'image' | 'network' | 'volume';
  action: string;
  id: string;
  attributes: Record<string, string>;
  /** Unix time in nanoseconds. */
  timeNano: bigint;
}

const HISTORY = 1000;

export class EventLog {
  private readonly history: VchEvent[] = [];
  private readonly live = new EventEmitter();

  constructor() {
    this.live.setMaxListeners(0);
  }

  record(type: VchEvent['type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const event: VchEvent = { type, action, id, attributes, timeNano: BigInt(Date.now()) * 1_000_000n };
    this.history.push(event);
    if (this.history.length > HISTORY) this.history.shift();
    this.live.emit('event', event);
  }

  /** Events at or after `sinceNano` that are still remembered. */
  since(sinceNano: bigint): VchEvent[] {
    return this.history.filter((e) => e.timeNano >= sinceNano);
  }

  subscribe(listener: (event: VchEvent) => void): () => void {
    this.live.on('event', listener);
    return () => this.live.off('event', listener);
  }
}
