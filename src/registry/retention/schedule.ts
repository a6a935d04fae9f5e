// Retention policies with a cron in their trigger, offered to the shared scheduler (jobs/).
import type { Metadata } from '../db/metadata.ts';
import { parseCron } from '../jobs/cron.ts';
import type { Scheduled } from '../jobs/scheduler.ts';
import type { RetentionRunner } from './runner.ts';
import type { RetentionStore } from './store.ts';

export function retentionSchedules(deps: { db: Metadata; store: RetentionStore; runner: RetentionRunner }): () => Promise<Scheduled[]> {
  return async () => (await deps.store.scheduled()).map((p) => ({
    id: `retention/${p.id}`, cron: parseCron(p.cron), since: p.scheduleSince,
    fire: async () => {
      // Re-read: the policy may have been changed or deleted since the list was taken.
      const policy = await deps.store.policy(p.id);
      const project = policy && (await deps.db.projectById(policy.projectId));
      if (policy && project && policy.cron) await deps.runner.start(policy, project, false, 'SCHEDULE');
    },
  }));
}
