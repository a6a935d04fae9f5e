// GET /containers/{id}/stats: what the container's VM uses, in Docker's stats shape. CPU is the VM's
// time against the total it is a share of (qemu: the VM process's against the host's; vSphere: the
// guest's busy time against all its CPUs' time); memory is what the VM uses against its limit (the
// VM's configured size, or the guest's MemTotal when the guest reports its own).
import type { RequestContext } from '../http/router.ts';
import { queryBool } from '../http/io.ts';
import type { ContainerRoutesBackend } from './containers.ts';
import type { VmUsage } from '../../portlayer/backend.ts';

const INTERVAL_MS = 1000;
const ZERO_TIME = '0001-01-01T00:00:00Z';

interface Sample {
  at: string;
  usage?: VmUsage;
  limitBytes: number;
}

function cpuStats(usage?: VmUsage): Record<string, unknown> {
  return {
    cpu_usage: { total_usage: usage?.cpuNs ?? 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    system_cpu_usage: usage?.systemCpuNs ?? 0,
    online_cpus: usage?.onlineCpus ?? 0,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

function statsBody(id: string, name: string, now: Sample, before?: Sample): Record<string, unknown> {
  return {
    id,
    name: `/${name}`,
    read: now.at,
    preread: before?.at ?? ZERO_TIME,
    pids_stats: {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(now.usage),
    precpu_stats: cpuStats(before?.usage),
    memory_stats: now.usage ? { usage: now.usage.memoryBytes, limit: now.limitBytes, stats: {} } : {},
    networks: {},
  };
}

export async function statsHandler(b: ContainerRoutesBackend, ctx: RequestContext): Promise<void> {
  const container = b.containers.get(ctx.params.id);
  const { id } = container.record;
  const sample = async (): Promise<Sample> => {
    // Taken before the backend is asked: the time the figures belong to.
    const at = new Date().toISOString();
    const current = await b.containers.usage(id);
    return { at, usage: current?.usage, limitBytes: current?.limitBytes ?? 0 };
  };
  const stream = queryBool(ctx.query, 'stream', true);
  const oneShot = queryBool(ctx.query, 'one-shot');
  // The first sample before the answer starts: a backend that cannot say (a guest out of reach) is
  // then an error status with its message, not a stream cut short.
  let before = await sample();
  const closed = new AbortController();
  ctx.res.on('close', () => closed.abort());
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  const wait = () => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, INTERVAL_MS);
    closed.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
  if (!stream) {
    // A single answer still carries a CPU delta, as dockerd's does, unless the client asked for one shot.
    if (!oneShot && before.usage) {
      await wait();
      const now = await sample();
      ctx.res.end(JSON.stringify(statsBody(id, container.record.spec.name, now, before)) + '\n');
    } else {
      ctx.res.end(JSON.stringify(statsBody(id, container.record.spec.name, before)) + '\n');
    }
    return;
  }
  ctx.res.write(JSON.stringify(statsBody(id, container.record.spec.name, before)) + '\n');
  while (!closed.signal.aborted) {
    await wait();
    if (closed.signal.aborted) break;
    const now = await sample();
    ctx.res.write(JSON.stringify(statsBody(id, b.containers.get(id).record.spec.name, now, before)) + '\n');
    before = now;
  }
  ctx.res.end();
}
