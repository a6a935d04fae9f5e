// Who keeps a VCH's engine running: `bonneville supervise` on hosts without systemd as PID 1 (these
// machines), else one generated systemd unit per VCH. The verbs only ask for start, restart, stop.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { askSupervisor, ensureSupervisor } from './supervisor.ts';
import type { EngineStatus } from './supervisor.ts';
import { engineEntry, vchServeArgs } from './engine-command.ts';
import type { VchSettings } from './settings.ts';
import { MEMORY_HEADROOM_MIB } from './resource-pool.ts';

export function systemdIsInit(): boolean {
  try {
    return readFileSync('/proc/1/comm', 'utf8').trim() === 'systemd';
  } catch {
    return false;
  }
}

const unitPath = (name: string) => `/etc/systemd/system/bonneville-vch-${name}.service`;

/**
 * The unit for a VCH under systemd (not exercised on these machines, which have no systemd as PID 1):
 * systemd makes the cgroup (the unit's own), sets its limits and restarts the engine; KillMode=process
 * leaves the container VMs running across engine restarts, as the supervisor does.
 */
export function systemdUnit(s: VchSettings): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, '\\$1')}"`);
  const lines = [
    '[Unit]',
    `Description=Bonneville VCH ${s.name}`,
    'After=network-online.target',
    '',
    '[Service]',
    `ExecStart=${[...engineEntry(s), ...vchServeArgs(s)].map(quote).join(' ')}`,
    'Restart=always',
    'RestartSec=1',
    'KillMode=process',
    `StandardOutput=append:${s.datastore}/engine.log`,
    'StandardError=inherit',
  ];
  if (s.limits.memoryMiB) lines.push(`MemoryMax=${(s.limits.memoryMiB + MEMORY_HEADROOM_MIB)}M`);
  if (s.limits.memoryReservationMiB) lines.push(`MemoryLow=${s.limits.memoryReservationMiB}M`);
  if (s.limits.cpus) lines.push(`CPUQuota=${Math.round(s.limits.cpus * 100)}%`);
  if (s.limits.cpuShares) lines.push(`CPUShares=${s.limits.cpuShares}`);
  lines.push('', '[Install]', 'WantedBy=multi-user.target', '');
  return lines.join('\n');
}

export class ServiceManager {
  readonly home: string;
  readonly systemd: boolean;
  constructor(home: string, systemd = systemdIsInit()) {
    this.home = home;
    this.systemd = systemd;
  }

  /** Starts the VCH's engine (its settings say enabled) and keeps it running. */
  async start(s: VchSettings): Promise<void> {
    if (this.systemd) {
      writeFileSync(unitPath(s.name), systemdUnit(s));
      execFileSync('systemctl', ['daemon-reload']);
      execFileSync('systemctl', ['enable', '--now', `bonneville-vch-${s.name}.service`]);
      return;
    }
    await ensureSupervisor(this.home);
    await askSupervisor(this.home, { op: 'reload' });
  }

  /** Restarts the engine with the settings as they are now on disk. */
  async restart(s: VchSettings): Promise<void> {
    if (this.systemd) {
      writeFileSync(unitPath(s.name), systemdUnit(s));
      execFileSync('systemctl', ['daemon-reload']);
      execFileSync('systemctl', ['restart', `bonneville-vch-${s.name}.service`]);
      return;
    }
    await ensureSupervisor(this.home);
    await askSupervisor(this.home, { op: 'restart', name: s.name });
  }

  /** Stops the engine for good (the VCH's settings must already say disabled, or it is started again). */
  async stop(name: string): Promise<void> {
    if (this.systemd) {
      try { execFileSync('systemctl', ['disable', '--now', `bonneville-vch-${name}.service`]); } catch { /* not there */ }
      rmSync(unitPath(name), { force: true });
      return;
    }
    try {
      await askSupervisor(this.home, { op: 'stop', name });
    } catch {
      // no supervisor: nothing runs the engine
    }
  }

  async status(): Promise<EngineStatus[]> {
    if (this.systemd) return [];
    try {
      return await askSupervisor<EngineStatus[]>(this.home, { op: 'status' }, 5000);
    } catch {
      return [];
    }
  }
}
