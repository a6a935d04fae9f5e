// Replication policies with a `scheduled` trigger, offered to the shared scheduler (jobs/).
import { parseCron } from '../jobs/cron.ts';
import type { Scheduled } from '../jobs/scheduler.ts';
import type { Replicator } from './replicator.ts';
import type { ReplicationStore } from './store.ts';

export function replicationSchedules(deps: { store: ReplicationStore; replicator: Replicator }): () => Promise<Scheduled[]> {
  return async () => (await deps.store.scheduledPolicies()).map((p) => ({
    id: `replication/${p.id}`, cron: parseCron(p.cron), since: p.scheduleSince,
    fire: async () => {
      // Re-read: the policy may have been disabled, changed or deleted since the list was taken.
      const policy = await deps.store.policy(p.id);
      if (policy?.enabled && policy.triggerType === 'scheduled') await deps.replicator.start(policy, 'scheduled');
    },
  }));
}
