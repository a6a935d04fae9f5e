// Webhooks: per-project policies (/api/v2.0/projects/{p}/webhook/policies) and a notifier that
// POSTs Harbor-shaped JSON for push/pull/delete events. Delivery is best effort, one attempt.
// Targets on loopback/link-local addresses are refused unless allowed (webhook-target.ts); the
// Authorization header sent to a target is a secret, sealed at rest like remote registries' passwords.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Metadata, Webhook } from '../db/metadata.ts';
import type { SqlDriver } from '../db/sql.ts';
import { SecretBox } from '../auth/secret-box.ts';
import { checkWebhookTarget, guardedLookup, isInternalAddress } from './webhook-target.ts';
import type { AccessControl } from '../auth/access.ts';
import type { RegistryEvent } from '../events.ts';
import { badRequest } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith, projectRef } from './guards.ts';
import type { ApiRoute } from './router.ts';

const eventTypes = new Set(['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT', 'DELETE_TAG']);

/** Authenticated with each sealed header, so it cannot be moved into another column. */
const headerContext = 'webhooks.auth_header';

/** Seals headers stored before they were encrypted (at start-up; idempotent across processes). */
export async function sealPlainWebhookHeaders(sql: SqlDriver, box: SecretBox): Promise<void> {
  for (const r of await sql.all("SELECT id, auth_header FROM webhooks WHERE auth_header <> ''")) {
    const stored = String(r.auth_header);
    if (SecretBox.isSealed(stored)) continue;
    await sql.run('UPDATE webhooks SET auth_header = ? WHERE id = ? AND auth_header = ?', box.seal(stored, headerContext), Number(r.id), stored);
  }
}

export interface WebhookOptions { box: SecretBox; allowInternal: boolean }

export class WebhookNotifier {
  private readonly db: Metadata;
  private readonly log: (line: string) => void;
  private readonly options: WebhookOptions;
  private readonly pending = new Set<Promise<void>>();
  constructor(db: Metadata, log: (line: string) => void, options: WebhookOptions) { this.db = db; this.log = log; this.options = options; }

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
    const data = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Content-Length': String(data.length) };
    if (hook.authHeader) headers.Authorization = this.options.box.open(hook.authHeader, headerContext);
    const url = new URL(hook.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // A literal address is never looked up, so it is checked here; names are checked on the address resolved.
    if (!this.options.allowInternal && isIP(host) && isInternalAddress(host)) throw new Error(`webhook ${hook.name}: target ${host} is internal`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method: 'POST', headers, timeout: 10_000, lookup: guardedLookup(this.options.allowInternal) as never,
      }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); res.on('error', reject); });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(data);
    });
    if (status < 200 || status > 299) this.log(`webhook ${hook.name} answered ${status}`);
  }

  async idle(): Promise<void> { await Promise.all([...this.pending]); }
}

export function webhookRoutes(deps: { db: Metadata; access: AccessControl } & WebhookOptions): ApiRoute[] {
  const { db, access, box, allowInternal } = deps;
  const view = (w: Webhook) => ({ id: w.id, project_id: w.projectId, name: w.name, enabled: true, event_types: w.eventTypes,
    targets: [{ type: 'http', address: w.url, auth_header: w.authHeader ? '******' : '' }] });
  return [
    { method: 'GET', path: '/projects/{project}/webhook/policies', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'update');
      sendJson(r.res, 200, (await db.webhooks(p.id)).map(view));
    } },
    { method: 'POST', path: '/projects/{project}/webhook/policies', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'update');
      const body = await readJson(r.req, badRequest);
      const target = Array.isArray(body.targets) ? body.targets[0] : undefined;
      let url: URL;
      try { url = new URL(String(target?.address)); } catch { throw badRequest('targets[0].address must be a URL'); }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('webhook targets are http(s) URLs');
      await checkWebhookTarget(url, allowInternal);
      if (target.auth_header !== undefined && typeof target.auth_header !== 'string') throw badRequest('targets[0].auth_header must be a string');
      const types = Array.isArray(body.event_types) ? body.event_types : [];
      if (types.length === 0 || !types.every((t: unknown) => eventTypes.has(String(t)))) throw badRequest(`event_types must be among ${[...eventTypes].join(', ')}`);
      const hook = await db.addWebhook({ projectId: p.id, name: String(body.name ?? 'webhook'), url: url.href, eventTypes: types, authHeader: box.seal(target.auth_header ?? '', headerContext) });
      sendEmpty(r.res, 201, { Location: `/api/v2.0/projects/${p.id}/webhook/policies/${hook.id}` });
    } },
    { method: 'DELETE', path: '/projects/{project}/webhook/policies/{id}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'update');
      await db.deleteWebhook(p.id, Number(r.params.id));
      sendEmpty(r.res, 200);
    } },
  ];
}
