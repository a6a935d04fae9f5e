// Restores a clone: a QEMU started with the template's arguments, paused in `-incoming defer`, loads
// the template's saved state (its RAM is the template's file, mapped copy-on-write), gets the
// container's disks hot-plugged, and resumes. The tether inside is then where the template left it:
// waiting for a CONFIG.
import { plugDisks } from './hotplug.ts';
import type { VmDisk } from './cmdline.ts';
import { QmpClient, QmpError } from './qmp.ts';
import { shellQuote } from './template-maker.ts';
import type { TemplateFiles } from './template-store.ts';
import type { RestoreFailure } from './template-health.ts';

/**
 * The restore itself failed (not the container): the caller falls back to a cold boot, and judges by
 * `failure` whether the template is to blame (template-health.ts).
 */
export class CloneRestoreError extends Error {
  readonly failure: RestoreFailure;
  constructor(message: string, failure: RestoreFailure, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CloneRestoreError';
    this.failure = failure;
  }
}

/** `signal` fires when QEMU has exited. */
export async function restoreClone(options: {
  qmpSocket: string; template: TemplateFiles; disks: VmDisk[]; timeoutMs: number; signal: AbortSignal;
  /** Called as each step ends ('monitor', 'restore', 'disks', 'resume'): the bench's phase timings. */
  mark?: (phase: string) => void;
}): Promise<void> {
  const mark = options.mark ?? (() => undefined);
  const deadline = Date.now() + options.timeoutMs;
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(options.qmpSocket, options.timeoutMs, options.signal);
    mark('monitor');
    await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
    await qmp.execute('migrate-incoming', { uri: `exec:cat ${shellQuote(options.template.state)}` });
    // A failed load makes QEMU exit (the connection then closes); a good one leaves it paused, as
    // the template was saved paused.
    for (;;) {
      const { status } = await qmp.execute<{ status: string }>('query-status');
      if (status !== 'inmigrate') {
        if (status !== 'paused') throw new Error(`VM is ${status} after restore, expected paused`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`restore not finished after ${options.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
    mark('restore');
  } catch (err) {
    qmp?.close();
    const failure = await classify(err, deadline, options.signal);
    throw new CloneRestoreError(`restoring from template ${options.template.dir} failed: ${(err as Error).message}`, failure, { cause: err });
  }
  try {
    // Plugged while paused: the guest sees them as soon as it runs, alongside the CONFIG.
    await plugDisks(qmp, options.disks);
    mark('disks');
    await qmp.execute('cont');
    mark('resume');
  } finally {
    qmp.close();
  }
}

/**
 * Ran out of time, QEMU went away (a closed monitor is QEMU exiting: give it a moment to be seen
 * gone), or QEMU answered and refused.
 */
async function classify(err: unknown, deadline: number, qemuGone: AbortSignal): Promise<RestoreFailure> {
  if (qemuGone.aborted) return 'exited';
  if (err instanceof QmpError) return 'refused';
  if (Date.now() >= deadline) return 'timeout';
  if (/closed/.test((err as Error).message)) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      qemuGone.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    if (qemuGone.aborted) return 'exited';
  }
  return 'refused';
}
