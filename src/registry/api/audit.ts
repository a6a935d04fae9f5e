// The audit log: every push, pull and delete, and /api/v2.0/audit-logs + /projects/{p}/logs
// (paged; filtered by Harbor's q=username=~x,operation=create,resource=~repo).
import type { AuditFilter, Metadata } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import type { EventSink } from '../events.ts';
import { sendJson } from '../http/respond.ts';
import { badRequest } from '../http/errors.ts';
import { projectWith, requireLogin, projectRef } from './guards.ts';
import type { ApiRequest, ApiRoute } from './router.ts';

const operations = { PUSH_ARTIFACT: 'create', PULL_ARTIFACT: 'pull', DELETE_ARTIFACT: 'delete', DELETE_TAG: 'delete' } as const;

export function recordAudit(db: Metadata, log: (line: string) => void): EventSink {
  return (e) => {
    db.addAudit({
      username: e.operator, projectId: e.projectId, resource: `${e.repository}:${e.tag ?? e.digest}`,
      resourceType: e.type === 'DELETE_TAG' ? 'tag' : 'artifact', operation: operations[e.type],
    }).catch((err) => log(`audit log write failed: ${err}`));
  };
}

/** A query number of at most 6 digits (page 1e308 would overflow the database's OFFSET). */
function wholeNumber(v: string | null, fallback: number, what: string): number {
  if (v === null || v === '') return fallback;
  if (!/^[1-9]\d{0,5}$/.test(v)) throw badRequest(`${what} must be a whole number from 1 to 999999`);
  return Number(v);
}

function paging(r: ApiRequest) {
  const page = wholeNumber(r.query.get('page'), 1, 'page');
  const size = Math.min(100, wholeNumber(r.query.get('page_size'), 10, 'page_size'));
  return { limit: size, offset: (page - 1) * size, fields: queryFields(r.query.get('q')) };
}

const filterable = new Set(['username', 'operation', 'resource', 'resource_type']);

/** Harbor's `q`: comma-separated `key=value` (exact) or `key=~value` (contains), over the log's own fields. */
function queryFields(q: string | null): NonNullable<AuditFilter['fields']> {
  if (!q) return [];
  return q.split(',').filter(Boolean).map((part) => {
    const m = /^([a-z_]+)=(~?)(.*)$/.exec(part);
    if (!m || !filterable.has(m[1])) throw badRequest(`q: ${part} is not key=value or key=~value over ${[...filterable].join(', ')}`);
    if (m[3].length > 255) throw badRequest(`q: the value for ${m[1]} is too long`);
    return { field: m[1] as 'username', value: m[3], fuzzy: m[2] === '~' };
  });
}

export function auditRoutes(deps: { db: Metadata; access: AccessControl }): ApiRoute[] {
  const { db, access } = deps;
  const view = (e: Awaited<ReturnType<Metadata['listAudit']>>[number]) => ({
    id: e.id, username: e.username, resource: e.resource, resource_type: e.resourceType, operation: e.operation, op_time: new Date(e.opTime).toISOString(),
  });
  return [
    { method: 'GET', path: '/audit-logs', handler: async (r) => {
      requireLogin(r.principal);
      const isAdmin = r.principal.kind === 'user' && r.principal.user.sysadmin;
      let projectIds: number[] | undefined;
      if (!isAdmin) {
        projectIds = [];
        for (const p of await db.listProjects()) if ((await access.projectCapabilities(r.principal, p)).has('readLogs')) projectIds.push(p.id);
      }
      sendJson(r.res, 200, (await db.listAudit({ projectIds, ...paging(r) })).map(view));
    } },
    { method: 'GET', path: '/projects/{project}/logs', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'readLogs');
      sendJson(r.res, 200, (await db.listAudit({ projectIds: [p.id], ...paging(r) })).map(view));
    } },
  ];
}
