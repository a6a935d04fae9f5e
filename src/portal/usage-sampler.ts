// CPU and memory use of each host over time: one `docker stats` sample of every running container,
// summed per host, every interval while someone looked at the dashboard in the last five minutes.
import type { HostInventory } from './hosts.ts';
import { statsSample } from './api/containers.ts';

export interface UsagePoint { at: number; cpuPercent: number; memoryBytes: number; running: number }

const KEEP = 120;
const IDLE_MS = 5 * 60_000;

export class UsageSampler {
  private readonly hosts: HostInventory;
  private readonly intervalMs: number;
  private readonly points = new Map<string, UsagePoint[]>();
  private lastTouched = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(hosts: HostInventory, intervalMs: number) {
    this.hosts = hosts;
    this.intervalMs = intervalMs;
  }

  touch(): void {
    this.lastTouched = Date.now();
    if (!this.timer) {
      this.timer = setInterval(() => void this.sample(), this.intervalMs);
      this.timer.unref();
      void this.sample();
    }
  }

  history(hostId: string): UsagePoint[] {
    return this.points.get(hostId) ?? [];
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    if (Date.now() - this.lastTouched > IDLE_MS) { this.stop(); return; }
    if (this.busy) return;
    this.busy = true;
    try {
      await Promise.all(this.hosts.list().map(async (h) => {
        try {
          const running = await h.docker.json<any[]>('GET', '/containers/json');
          const samples = await Promise.all(running.map((c) => h.docker.json('GET', `/containers/${c.Id}/stats?stream=false`).then(statsSample, () => null)));
          const point = { at: Date.now(), running: running.length, cpuPercent: 0, memoryBytes: 0 };
          for (const s of samples) if (s) { point.cpuPercent += s.cpuPercent; point.memoryBytes += s.memoryBytes; }
          const list = this.points.get(h.id) ?? [];
          list.push(point);
          if (list.length > KEEP) list.shift();
          this.points.set(h.id, list);
        } catch { /* unreachable host: a gap in its chart */ }
      }));
    } finally {
      this.busy = false;
    }
  }
}
