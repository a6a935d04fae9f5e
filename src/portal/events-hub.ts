// Engine events pushed to browsers: one /events subscription per host while anyone listens, fanned
// out over server-sent events. A listener gets an event only for containers it may see (their
// project label), administrators all of them.
import type { ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { HostInventory } from './hosts.ts';
import { PROJECT_LABEL } from './access.ts';

interface Listener { res: ServerResponse; sees: (hostId: string, project: string | null) => boolean }

export class EventsHub {
  private readonly hosts: HostInventory;
  private readonly listeners = new Set<Listener>();
  private readonly subscriptions = new Map<string, IncomingMessage>();
  private timer: NodeJS.Timeout | undefined;

  constructor(hosts: HostInventory) {
    this.hosts = hosts;
  }

  add(res: ServerResponse, sees: Listener['sees']): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    const listener = { res, sees };
    this.listeners.add(listener);
    res.on('close', () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    });
    this.ensure();
    // Hosts that appear later, and subscriptions that dropped, are picked up here; the comment keeps proxies from closing the stream.
    this.timer ??= setInterval(() => {
      this.ensure();
      for (const l of this.listeners) l.res.write(': keep-alive\n\n');
    }, 5000);
  }

  close(): void {
    this.stop();
    for (const l of this.listeners) l.res.end();
    this.listeners.clear();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.subscriptions.values()) s?.destroy(); // null: a subscription still connecting
    this.subscriptions.clear();
  }

  private ensure(): void {
    for (const host of this.hosts.list()) {
      if (this.subscriptions.has(host.id)) continue;
      const placeholder = null as unknown as IncomingMessage;
      this.subscriptions.set(host.id, placeholder);
      host.docker.stream('/events').then((stream) => {
        if (this.listeners.size === 0) { stream.destroy(); this.subscriptions.delete(host.id); return; }
        this.subscriptions.set(host.id, stream);
        let pending = '';
        stream.on('data', (chunk: Buffer) => {
          pending += chunk.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const line of lines) if (line.trim()) this.publish(host.id, line);
        });
        const drop = () => { if (this.subscriptions.get(host.id) === stream) this.subscriptions.delete(host.id); };
        stream.on('end', drop);
        stream.on('error', drop);
        stream.on('close', drop);
      }, () => { this.subscriptions.delete(host.id); });
    }
  }

  private publish(hostId: string, line: string): void {
    let e: any;
    try { e = JSON.parse(line); } catch { return; }
    const attrs = e.Actor?.Attributes ?? {};
    const project = attrs[PROJECT_LABEL] ?? null;
    const event = { hostId, type: e.Type, action: e.Action ?? e.status, id: e.Actor?.ID ?? e.id, name: attrs.name ?? null, time: e.time };
    const data = `data: ${JSON.stringify(event)}\n\n`;
    // Other objects (networks, volumes, images) carry no project: administrators only.
    for (const l of this.listeners) if (l.sees(hostId, e.Type === 'container' ? project : null)) l.res.write(data);
  }
}
