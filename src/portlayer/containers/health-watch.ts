// Wires a container's healthcheck (health.ts's probe loop) to its live record: each verdict is saved,
// each change of status announced, while its VM runs.
import type { LiveContainer } from './live-container.ts';
import type { ContainerContext } from './context.ts';
import { HealthMonitor, startingHealth } from './health.ts';

/** Runs the container's healthcheck while its VM does; each verdict is saved, each change announced. */
export function watchHealth(entry: LiveContainer, deps: ContainerContext): void {
  const spec = entry.record.spec.healthcheck;
  if (!spec) return;
  entry.health?.stop();
  entry.health = new HealthMonitor({
    spec,
    startedAtMs: Date.parse(entry.state.startedAt),
    // A frozen guest cannot answer; the probe waits for the thaw rather than counting as a failure.
    probeVm: () => (entry.state.paused ? undefined : entry.vm),
    current: () => entry.state.health ?? startingHealth(),
    update: (health, changed) => {
      if (!entry.vm || !deps.live.has(entry.record.id)) return;
      entry.state = { ...entry.state, health };
      deps.store.saveState(entry.record.id, entry.state);
      if (changed) deps.announce(entry, `health_status: ${health.status}`);
    },
  });
}

/** The process ended: no more probes. */
export function stopHealth(entry: LiveContainer): void {
  entry.health?.stop();
  entry.health = undefined;
}
