// Boots are admitted at the rate the cores can take: a fixed number run at once, the rest wait in
// arrival order. A start that waits simply takes longer (back-pressure on the HTTP request); its boot
// timeout starts when it is admitted, so waiting behind others can never make it fail.
import { availableParallelism, loadavg } from 'node:os';

/** What a boot costs in admission units: a clone is mostly waiting, a cold boot (or template build) works. */
export const CLONE_WEIGHT = 1;
export const COLD_BOOT_WEIGHT = 2;

export class BootAdmission {
  /** Units that may be in use at once (bootCapacity). */
  readonly capacity: number;
  private used = 0;
  private running = 0;
  private readonly queue: Array<{ weight: number; admit: () => void }> = [];

  constructor(capacity: number) {
    this.capacity = Math.max(COLD_BOOT_WEIGHT, Math.floor(capacity));
  }

  /** Boots running now. */
  get busy(): number {
    return this.running;
  }

  /** Boots waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Runs work once its weight fits. Strictly in arrival order (a cold boot at the head is not
   * overtaken by clones that would fit), except `first`: a template build goes to the front, since
   * every start queued behind it becomes a cheap clone once it is done.
   */
  async run<T>(work: () => Promise<T>, options: { weight?: number; first?: boolean } = {}): Promise<T> {
    const weight = Math.min(this.capacity, Math.max(1, options.weight ?? COLD_BOOT_WEIGHT));
    if (this.queue.length === 0 && this.used + weight <= this.capacity) {
      this.used += weight;
    } else {
      await new Promise<void>((admit) => {
        if (options.first) this.queue.unshift({ weight, admit });
        else this.queue.push({ weight, admit });
      });
    }
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.used -= weight;
      this.admitWaiting();
    }
  }

  private admitWaiting(): void {
    while (this.queue.length > 0 && this.used + this.queue[0].weight <= this.capacity) {
      const next = this.queue.shift()!;
      this.used += next.weight;
      next.admit();
    }
  }
}

/**
 * Admission units: under TCG two cold boots (or four clones) per core. Part of every boot is waiting
 * (QEMU starting, the monitor, the guest's device probes), so one boot per core leaves cores idle
 * (measured: 30 clones beside two CPU burners on 2 cores took 62 s with 2 at once, 38 s with 4 or 8);
 * under KVM even more of a boot is waiting.
 */
export function bootCapacity(accel: 'kvm' | 'tcg', cores = availableParallelism()): number {
  return Math.max(1, cores) * (accel === 'kvm' ? 8 : 4);
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
