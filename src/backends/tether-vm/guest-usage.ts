// `docker stats` from inside the guest: the tether's USAGE answer (docs/tether-protocol.md) as the
// port layer's VmUsage. For a backend that cannot see a VM's cost from outside (vSphere).
import type { VmUsage } from '../../portlayer/backend.ts';
import type { TetherClient } from '../../tether/client.ts';
import { FrameType } from '../../tether/frames.ts';
import { withDeadline } from './deadline.ts';
import { ask } from './tether-request.ts';

/** A guest that has not answered by then is stuck (or its line is): stats says so rather than hang. */
const USAGE_TIMEOUT_MS = 20_000;

/** USAGE's RESULT. */
interface GuestUsage {
  cpuBusyNs: number;
  cpuTotalNs: number;
  onlineCpus: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
}

function figure(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`the guest's usage has no valid ${what}`);
  return value;
}

export async function guestUsage(tether: TetherClient, session: number): Promise<VmUsage> {
  const u = await withDeadline(ask<GuestUsage>(tether, session, FrameType.Usage), Date.now() + USAGE_TIMEOUT_MS,
    `the guest did not report its usage within ${USAGE_TIMEOUT_MS / 1000} s`);
  return {
    cpuNs: figure(u.cpuBusyNs, 'cpuBusyNs'),
    systemCpuNs: figure(u.cpuTotalNs, 'cpuTotalNs'),
    onlineCpus: figure(u.onlineCpus, 'onlineCpus'),
    memoryBytes: figure(u.memoryUsedBytes, 'memoryUsedBytes'),
    memoryLimitBytes: figure(u.memoryTotalBytes, 'memoryTotalBytes'),
  };
}
