// Boots are admitted at the rate the cores can take: a fixed number run at once, the rest wait in
// arrival order. A start that waits simply takes longer (back-pressure on the HTTP request); its boot
// timeout starts when it is admitted, so waiting behind others can never make it fail.
import { availableParallelism, loadavg } from 'node:os';

export class BootAdmission {
  readonly slots: number;
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(slots: number) {
    this.slots = Math.max(1, Math.floor(slots));
  }

  /** Boots running now. */
  get busy(): number {
    return this.running;
  }

  /** Boots waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Runs work once a slot is free. FIFO, except `first`: a template build goes to the front, since
   * every start queued behind it becomes a cheap clone once it is done.
   */
  async run<T>(work: () => Promise<T>, options: { first?: boolean } = {}): Promise<T> {
    if (this.running >= this.slots) {
      await new Promise<void>((resolve) => {
        if (options.first) this.queue.unshift(resolve);
        else this.queue.push(resolve);
      });
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line (running stays counted), or is freed.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * How many boots run at once. Part of every boot is waiting (QEMU starting, the monitor, the guest's
 * device probes), so two per core keep the cores busy under TCG (measured: 30 clones beside two CPU
 * burners on 2 cores took 62 s with 2 slots, 38 s with 4 or 8); under KVM even more of it is waiting.
 */
export function bootSlots(accel: 'kvm' | 'tcg', cores = availableParallelism()): number {
  return Math.max(2, (accel === 'kvm' ? 4 : 2) * cores);
}

/**
 * How much slower than an idle host things run now: the 1-minute load average per core, at least 1
 * and capped (a timeout still ends a guest that never comes up). Timeouts are scaled by it, so that a
 * host busy with other work does not turn slow boots into failed ones.
 */
export function loadFactor(cores = availableParallelism(), load = loadavg()[0]): number {
  return Math.min(MAX_LOAD_FACTOR, Math.max(1, load / cores));
}

export const MAX_LOAD_FACTOR = 6;

/** Whether the host is doing more than one boot's worth of work (then a slow restore proves nothing). */
export function hostBusy(admission: BootAdmission, cores = availableParallelism(), load = loadavg()[0]): boolean {
  return admission.busy > 1 || admission.waiting > 0 || load >= cores * 0.75;
}
