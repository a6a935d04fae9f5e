// The registry's administration as documented portal routes (each with its summary and body in the
// OpenAPI document): replication endpoints, rules, executions and their tasks; immutability rules;
// garbage collection; the audit log; users; storage quotas. They pass on to the registry's /api/v2.0
// with the caller's credentials, so the registry's RBAC decides; system-administrator routes refuse
// other callers here first with a message naming what they asked for.
import type { Route, RouteContext } from '../http.ts';
import { badRequest, forbidden, readJson, sendJson, HttpError } from '../http.ts';
import { registryMessage } from '../registry-client.ts';
import type { Portal } from '../portal.ts';
import type { Principal } from '../sessions.ts';
import { forwardToRegistry } from './registry.ts';

const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const registryRef = { type: 'object', nullable: true, description: '{"id": N} of an endpoint; null or id 0 is this registry', properties: { id: int } };

const endpointBody = { type: 'object', required: ['name', 'url'], properties: {
  name: str, type: { type: 'string', enum: ['docker-registry', 'harbor'], default: 'docker-registry' }, url: { type: 'string', example: 'https://mirror.example:5443' },
  insecure: { ...bool, description: 'skip TLS verification' }, description: str,
  credential: { type: 'object', properties: { type: { type: 'string', enum: ['basic'] }, access_key: str, access_secret: { type: 'string', writeOnly: true } } } } };

const policyBody = { type: 'object', required: ['name'], properties: {
  name: str, description: str, src_registry: registryRef, dest_registry: registryRef,
  dest_namespace: { type: 'string', description: 'the remote project to copy into (push-based)' },
  filters: { type: 'array', items: { type: 'object', required: ['type', 'value'], properties: {
    type: { type: 'string', enum: ['name', 'tag'] }, value: { type: 'string', example: 'library/**' }, decoration: { type: 'string', enum: ['matches'] } } } },
  trigger: { type: 'object', properties: { type: { type: 'string', enum: ['manual', 'event_based', 'scheduled'] },
    trigger_settings: { type: 'object', properties: { cron: { type: 'string', example: '0 0 2 * * *' } } } } },
  enabled: bool, override: bool } };

const immutableBody = { type: 'object', required: ['tag_selectors'], properties: {
  tag_selectors: { type: 'array', items: { type: 'object', properties: { decoration: { type: 'string', enum: ['matches'] },
    pattern: { type: 'string', example: 'v*,release-**', description: 'doublestar pattern; several separated by commas' } } } },
  scope_selectors: { type: 'object', properties: { repository: { type: 'array', items: { type: 'object', properties: {
    decoration: { type: 'string', enum: ['repoMatches'] }, pattern: { type: 'string', example: 'app,tools/**', description: 'doublestar pattern; several separated by commas' } } } } } } } };

const gcBody = { type: 'object', properties: {
  schedule: { type: 'object', properties: { type: { type: 'string', enum: ['Manual', 'None', 'Hourly', 'Daily', 'Weekly', 'Custom'] }, cron: { type: 'string', example: '0 0 3 * * *' } } },
  parameters: { type: 'object', properties: { delete_untagged: bool, dry_run: { ...bool, description: 'Manual runs only: report, delete nothing' } } } } };

/** The most rules one request may make by combining its repository and tag patterns. */
const MAX_COMBINED_RULES = 15;

const patterns = (v: unknown, what: string): string[] => {
  if (v === undefined || v === null || v === '') return ['**'];
  if (typeof v !== 'string') throw badRequest(`${what} must be a string`);
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  return list.length ? list : ['**'];
};

export function registryAdminRoutes(portal: Portal): Route<Principal>[] {
  const pass = (method: string, path: string, summary: string, o: { body?: Record<string, unknown>; sysadmin?: string } = {}): Route<Principal> => ({
    method, path, summary: o.sysadmin ? `${summary}; system administrators` : summary, body: o.body,
    handler: async (c) => {
      if (o.sysadmin && !c.principal.sysadmin) throw forbidden(`only system administrators ${o.sysadmin}`);
      await forwardToRegistry(portal, c);
    },
  });
  const replication = 'manage replication';
  const gc = 'run garbage collection';
  const users = 'manage users';
  const quotas = 'see and set storage quotas';

  /** One registry rule per repository × tag pattern; all made or none (those made are deleted again). */
  const addImmutability = async (c: RouteContext<Principal>) => {
    const body = await readJson(c.req);
    const tags = patterns(body.tag_selectors?.[0]?.pattern, 'tag_selectors[0].pattern');
    const repos = patterns(body.scope_selectors?.repository?.[0]?.pattern, 'scope_selectors.repository[0].pattern');
    if (body.tag_selectors?.[0]?.pattern === undefined) throw badRequest('tag_selectors[0].pattern is required');
    if (tags.length * repos.length > MAX_COMBINED_RULES) throw badRequest(`${repos.length} repository × ${tags.length} tag patterns make more than ${MAX_COMBINED_RULES} rules`);
    const project = encodeURIComponent(c.params.project);
    const made: number[] = [];
    try {
      for (const repo of repos) {
        for (const tag of tags) {
          const res = await portal.registry.call('POST', `/api/v2.0/projects/${project}/immutabletagrules`, c.principal, JSON.stringify({
            tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: tag }],
            scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: repo }] } }));
          if (res.status >= 400) throw new HttpError(res.status, registryMessage(res));
          made.push(Number(String(res.headers.location ?? '').split('/').pop()));
        }
      }
    } catch (err) {
      for (const id of made) await portal.registry.call('DELETE', `/api/v2.0/projects/${project}/immutabletagrules/${id}`, c.principal).catch(() => undefined);
      throw err;
    }
    sendJson(c.res, 201, { ids: made, rules: made.length });
  };

  /** The audit log filtered by user, operation and resource (as the registry's q=…), paged. */
  const auditLog = (path: (c: RouteContext<Principal>) => string) => async (c: RouteContext<Principal>) => {
    const q: string[] = [];
    for (const [key, fuzzy] of [['username', true], ['operation', false], ['resource', true], ['resource_type', false]] as const) {
      const v = c.url.searchParams.get(key);
      if (v) {
        if (v.includes(',')) throw badRequest(`${key} may not contain a comma`);
        q.push(`${key}=${fuzzy ? '~' : ''}${v}`);
      }
    }
    const params = new URLSearchParams();
    if (q.length) params.set('q', q.join(','));
    for (const k of ['page', 'page_size']) { const v = c.url.searchParams.get(k); if (v) params.set(k, v); }
    await forwardToRegistry(portal, c, undefined, `${path(c)}${params.size ? `?${params}` : ''}`);
  };

  return [
    pass('GET', '/registry/registries', 'Replication endpoints (remote registries)', { sysadmin: replication }),
    pass('POST', '/registry/registries', 'Add a replication endpoint', { body: endpointBody, sysadmin: replication }),
    pass('POST', '/registry/registries/ping', 'Check that an endpoint (by {"id"} or by the fields of a new one) answers', { body: endpointBody, sysadmin: replication }),
    pass('PUT', '/registry/registries/{id}', 'Edit a replication endpoint (an absent secret keeps the stored one)', { body: endpointBody, sysadmin: replication }),
    pass('DELETE', '/registry/registries/{id}', 'Remove a replication endpoint no rule uses', { sysadmin: replication }),
    pass('GET', '/registry/replication/policies', 'Replication rules', { sysadmin: replication }),
    pass('POST', '/registry/replication/policies', 'Create a replication rule: exactly one of src_registry (pull) and dest_registry (push) is remote', { body: policyBody, sysadmin: replication }),
    pass('GET', '/registry/replication/policies/{id}', 'One replication rule', { sysadmin: replication }),
    pass('PUT', '/registry/replication/policies/{id}', 'Edit a replication rule (fields left out keep their value)', { body: policyBody, sysadmin: replication }),
    pass('DELETE', '/registry/replication/policies/{id}', 'Delete a replication rule', { sysadmin: replication }),
    pass('GET', '/registry/replication/executions', 'Replication executions, newest first (?policy_id=N)', { sysadmin: replication }),
    pass('POST', '/registry/replication/executions', 'Start an execution of a rule now', { body: { type: 'object', required: ['policy_id'], properties: { policy_id: int } }, sysadmin: replication }),
    pass('GET', '/registry/replication/executions/{id}', 'One execution: status and counts', { sysadmin: replication }),
    pass('GET', '/registry/replication/executions/{id}/tasks', 'The tasks of an execution: one per artifact copied, with state and message', { sysadmin: replication }),
    pass('GET', '/registry/projects/{project}/immutabletagrules', 'A project\'s immutability rules'),
    { method: 'POST', path: '/registry/projects/{project}/immutabletagrules', body: immutableBody, handler: addImmutability,
      summary: 'Add immutability: tags matching the tag pattern(s) in repositories matching the repository pattern(s) cannot be re-pushed or deleted; comma-separated patterns make one rule per pair, all or none' },
    pass('DELETE', '/registry/projects/{project}/immutabletagrules/{id}', 'Remove an immutability rule'),
    pass('GET', '/registry/system/gc/schedule', 'The garbage-collection schedule and its next run', { sysadmin: gc }),
    pass('POST', '/registry/system/gc/schedule', 'schedule.type Manual: collect garbage now (optionally a dry run); otherwise set the schedule', { body: gcBody, sysadmin: gc }),
    pass('PUT', '/registry/system/gc/schedule', 'Set the garbage-collection schedule (None, Hourly, Daily, Weekly, Custom with a cron)', { body: gcBody, sysadmin: gc }),
    pass('GET', '/registry/system/gc', 'Garbage-collection history, newest first', { sysadmin: gc }),
    pass('GET', '/registry/system/gc/{id}', 'One garbage-collection run', { sysadmin: gc }),
    { method: 'GET', path: '/registry/audit-logs', handler: auditLog(() => 'audit-logs'),
      summary: 'The audit log of the projects the caller may read (all for administrators); filters: username (contains), operation (create|pull|delete), resource (contains), resource_type; page, page_size' },
    { method: 'GET', path: '/registry/projects/{project}/logs', handler: auditLog((c) => `projects/${encodeURIComponent(c.params.project)}/logs`),
      summary: 'One project\'s audit log, with the filters of /registry/audit-logs' },
    pass('GET', '/registry/users', 'Registry (and portal) users', { sysadmin: users }),
    pass('POST', '/registry/users', 'Create a user (password: 8+ characters with upper-case, lower-case and a digit)',
      { body: { type: 'object', required: ['username', 'password'], properties: { username: str, password: { type: 'string', writeOnly: true }, email: str, realname: str } }, sysadmin: users }),
    pass('PUT', '/registry/users/{id}/sysadmin', 'Grant or revoke system administrator rights', { body: { type: 'object', required: ['sysadmin_flag'], properties: { sysadmin_flag: bool } }, sysadmin: users }),
    pass('DELETE', '/registry/users/{id}', 'Delete a user (not yourself)', { sysadmin: users }),
    pass('GET', '/registry/quotas', 'Storage quotas per project: hard limit and use in bytes (-1: no limit)', { sysadmin: quotas }),
    pass('PUT', '/registry/quotas/{id}', 'Set a project\'s storage limit', { body: { type: 'object', required: ['hard'], properties: { hard: { type: 'object', properties: { storage: { ...int, minimum: -1, description: 'bytes; -1 is no limit' } } } } }, sysadmin: quotas }),
  ];
}
