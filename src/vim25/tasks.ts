// Tasks: a *_Task method returns a Task reference at once; the outcome is its info.state reaching
// success (info.result) or error (info.error, a LocalizedMethodFault → typed VimFault).
import type { VimClient } from './session.ts';
import { PropertyWatch } from './property-collector.ts';
import { faultFromLocalized } from './faults.ts';
import type { ManagedObjectReference, TaskState } from './types.ts';

/** Waits for a task's end through property updates; resolves to info.result, throws its fault. */
export async function waitForTask(client: VimClient, task: ManagedObjectReference): Promise<unknown> {
  const watch = await PropertyWatch.create(client, [{ propSet: [{ type: 'Task', pathSet: ['info.state', 'info.error', 'info.result'] }], objectSet: [{ obj: task }] }], { maxWaitSeconds: 60 });
  const seen: Record<string, unknown> = {};
  try {
    for (;;) {
      const batch = await watch.next();
      if (batch === undefined) throw new Error(`vim25: watch of ${task} closed before the task ended`);
      for (const u of batch) for (const c of u.changes) seen[c.name] = c.value;
      const state = seen['info.state'] as TaskState | undefined;
      if (state === 'success') return seen['info.result'];
      if (state === 'error') throw faultFromLocalized(seen['info.error']);
    }
  } finally {
    await watch.close();
  }
}

/** Invokes a *_Task method and waits for it. */
export async function runTask(client: VimClient, method: string, self: ManagedObjectReference, args: Record<string, unknown> = {}): Promise<unknown> {
  const task = await client.invokeRef(method, self, args);
  return waitForTask(client, task);
}
