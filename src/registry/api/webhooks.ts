// Webhooks: per-project policies (/api/v2.0/projects/{p}/webhook/policies) and a notifier that
// POSTs Harbor-shaped JSON for push/pull/delete events. Delivery is best effort, one attempt.
import type { Metadata, Webhook } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import type { RegistryEvent } from '../events.ts';
import { badRequest } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith } from './guards.ts';
import type { ApiRoute } from './router.ts';

const eventTypes = new Set(['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT', 'DELETE_TAG']);

export class WebhookNotifier {
  private readonly db: Metadata;
  private readonly log: (line: string) => void;
  private readonly pending = new Set<Promise<void>>();
  constructor(db: Metadata, log: (line: string) => void) { this.db = db; this.log = log; }

  notify(e: RegistryEvent): void {
    const db = this.db;
    const p = (async () => {
      for (const hook of await db.webhooks(e.projectId)) {
        if (hook.eventTypes.includes(e.type)) await this.deliver(hook, e);
      }
    })().catch((err) => this.log(`webhook delivery failed: ${err}`));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async deliver(hook: Webhook, e: RegistryEvent): Promise<void> {
    const body = {
      type: e.type, occur_at: Math.floor(e.occurredAt / 1000), operator: e.operator,
      event_data: {
        resources: [{ digest: e.digest, tag: e.tag ?? '', mime_type: e.mediaType ?? '' }],
        repository: { name: e.repository.slice(e.projectName.length + 1), namespace: e.projectName, repo_full_name: e.repository },
      },
    };
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (hook.authHeader) headers.Authorization = hook.authHeader;
    const res = await fetch(hook.url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) this.log(`webhook ${hook.name} answered ${res.status}`);
    await res.body?.cancel();
  }

  async idle(): Promise<void> { await Promise.all([...this.pending]); }
}

export function webhookRoutes(deps: { db: Metadata; access: AccessControl }): ApiRoute[] {
  const { db, access } = deps;
  const view = (w: Webhook) => ({ id: w.id, project_id: w.projectId, name: w.name, enabled: true, event_types: w.eventTypes,
    targets: [{ type: 'http', address: w.url, auth_header: w.authHeader ? '******' : '' }] });
  return [
    { method: 'GET', path: '/projects/{project}/webhook/policies', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, r.params.project, 'update');
      sendJson(r.res, 200, (await db.webhooks(p.id)).map(view));
    } },
    { method: 'POST', path: '/projects/{project}/webhook/policies', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, r.params.project, 'update');
      const body = await readJson(r.req, badRequest);
      const target = body.targets?.[0];
      let url: URL;
      try { url = new URL(String(target?.address)); } catch { throw badRequest('targets[0].address must be a URL'); }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('webhook targets are http(s) URLs');
      const types = Array.isArray(body.event_types) ? body.event_types : [];
      if (types.length === 0 || !types.every((t: unknown) => eventTypes.has(String(t)))) throw badRequest(`event_types must be among ${[...eventTypes].join(', ')}`);
      const hook = await db.addWebhook({ projectId: p.id, name: String(body.name ?? 'webhook'), url: url.href, eventTypes: types, authHeader: String(target.auth_header ?? '') });
      sendEmpty(r.res, 201, { Location: `/api/v2.0/projects/${p.id}/webhook/policies/${hook.id}` });
    } },
    { method: 'DELETE', path: '/projects/{project}/webhook/policies/{id}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, r.params.project, 'update');
      await db.deleteWebhook(p.id, Number(r.params.id));
      sendEmpty(r.res, 200);
    } },
  ];
}
