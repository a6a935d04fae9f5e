// `docker wait`: resolves with the exit status once the container meets Docker's wait condition.
import type { EventEmitter } from 'node:events';
import type { ExitStatus } from '../backend.ts';
import { isActive, statusOf } from './live-container.ts';
import type { LiveContainer } from './live-container.ts';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** `events` is the container service's emitter ('exit' and 'removed'). */
export function waitFor(entry: LiveContainer, condition: WaitCondition, events: EventEmitter): Promise<ExitStatus> {
  const id = entry.record.id;
  if (condition === 'not-running' && !isActive(entry)) return Promise.resolve(statusOf(entry));
  return new Promise((resolve) => {
    let last: ExitStatus = statusOf(entry);
    const onExit = (exitedId: string, exit: ExitStatus) => {
      if (exitedId !== id) return;
      last = exit;
      if (condition !== 'removed') finish();
    };
    const onRemoved = (removedId: string) => {
      if (removedId === id) finish();
    };
    const finish = () => {
      events.off('exit', onExit);
      events.off('removed', onRemoved);
      resolve(last);
    };
    events.on('exit', onExit);
    events.on('removed', onRemoved);
  });
}
