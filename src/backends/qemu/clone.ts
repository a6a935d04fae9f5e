// Restores a clone: a QEMU started with the template's arguments, paused in `-incoming defer`, loads
// the template's saved state (its RAM is the template's file, mapped copy-on-write), gets the
// container's disks hot-plugged, and resumes. The tether inside is then where the template left it:
// waiting for a CONFIG.
import { plugDisks } from './hotplug.ts';
import type { VmDisk } from './cmdline.ts';
import { QmpClient } from './qmp.ts';
import { shellQuote } from './template-maker.ts';
import type { TemplateFiles } from './template-store.ts';

/** The restore itself failed (not the container): the caller falls back to a cold boot and drops the template. */
export class CloneRestoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CloneRestoreError';
  }
}

export async function restoreClone(options: { qmpSocket: string; template: TemplateFiles; disks: VmDisk[]; timeoutMs: number; signal: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(options.qmpSocket, options.timeoutMs, options.signal);
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
  } catch (err) {
    qmp?.close();
    throw new CloneRestoreError(`restoring from template ${options.template.dir} failed: ${(err as Error).message}`, { cause: err });
  }
  try {
    // Plugged while paused: the guest sees them as soon as it runs, alongside the CONFIG.
    await plugDisks(qmp, options.disks);
    await qmp.execute('cont');
  } finally {
    qmp.close();
  }
}
