// `docker stats`' figures for one container: what its VM uses and the memory limit that is a share
// of. A stopped container has none (the engine answers zeros, as dockerd does); so has one whose VM
// ends while it is being asked — a guest that reports its own usage loses its line with the VM.
import type { VmUsage } from '../backend.ts';
import type { LiveContainer } from './live-container.ts';
import { shapeOf } from './vm-boot.ts';
import type { VmShape } from './vm-boot.ts';

/** How long a failed answer waits to learn whether the VM was ending meanwhile. */
const ENDING_GRACE_MS = 2000;

function endsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
  ]).finally(() => clearTimeout(timer));
}

export async function containerUsage(entry: LiveContainer, vmDefaults: VmShape): Promise<{ usage: VmUsage; limitBytes: number } | undefined> {
  const vm = entry.vm;
  if (!vm) return undefined;
  let usage: VmUsage;
  try {
    usage = await vm.usage();
  } catch (err) {
    if (await endsWithin(vm.exited, ENDING_GRACE_MS)) return undefined;
    throw err;
  }
  const limitBytes = usage.memoryLimitBytes ?? shapeOf(entry.record.spec, vmDefaults).memoryMiB * 1024 ** 2;
  return { usage, limitBytes };
}
